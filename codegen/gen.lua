-- codegen/gen.lua — the generator entry point: load → validate strictly → emit.
--
--   lua5.4 codegen/gen.lua --root ROOT --out OUTDIR [--core-only] [--with EMITTER]...
--
-- Reads ROOT/spec/openapi.yaml, ROOT/spec/capabilities/*.yaml and the committed digest of the
-- official contract ROOT/spec/reference/agent-server-<info.x-contract-version>.yaml. On any
-- validation error it prints every error as "file:line: message" and exits 1 without writing.
-- Otherwise it writes, under OUTDIR (a mirror of the tree; may equal ROOT):
--   generated/routes.def, generated/handlers.h        (emit_routes.lua)
--   generated/assets.h, generated/openapi_json.c      (emit_openapi.lua)
--   generated/docs_html.c                             (emit_docs.lua)
--   docs/CAPABILITIES.md                              (emit_caps.lua)
--   whatever emit_validators.lua, emit_parity.lua and emit_ownership.lua write, when those
--   modules exist
-- --core-only skips those external emitters (the golden tests use it); --with NAME runs the
-- external emitter NAME after the core ones all the same (a golden case of that emitter).
--
-- THE MODEL passed to every emitter as `emit(model)`:
--   model.spec          the raw spec table (codegen/load.lua nodes; YAML null is load.null;
--                       load.keys(node) gives a mapping's keys in YAML order)
--   model.ops           list, sorted by path then method, of operations:
--     op_id             operationId
--     method            "GET" | "POST" | "PUT" | "PATCH" | "DELETE"
--     path              "/threads/{thread_id}"
--     tag               first tag ("Other" when none)
--     summary           the spec summary or nil
--     handler           C function name; "http_not_implemented" for planned operations
--     status            "implemented" | "partial" | "planned"
--     note              the capability row's note or nil
--     resource          the capability file stem ("threads", "stateless-runs", ...)
--     flags             list of "RF_*" strings in the order STREAM, EXTENSION, PLANNED, PUBLIC, TOLERANT
--     extension         true for x-lgserve-extension operations
--     sdk_extra         true for x-lgserve-sdk-extra operations (SDKs call them; not official)
--     op                the raw operation object
--     body_schema       raw request body schema (application/json; may be a {$ref}) or nil
--     body_required     boolean
--     body_fields       list of {name, schema} top-level body fields (allOf flattened, refs followed)
--     body_required_fields  set name -> true
--     params            list of raw parameter objects (refs resolved; path-level ones included)
--     caps              the capability row: {op_id, handler, status, note, resource,
--                       fields = {name -> {status, note}}, params = {name -> {status, note}}}
--                       where status is "honoured" | "ignored" | "rejected"
--   model.tags          tag names in spec order
--   model.digest        {version, file, ops (list of digest operations), by_key ("METHOD path"
--                       -> op), by_id (operationId -> op), schemas}
--   model.resolve_ref(ref)   "#/components/schemas/X" -> table or nil
--   model.write(relpath, content)  hands over the file OUTDIR/relpath (also passed as the
--                       second argument of emit). Emitters must return every file through it;
--                       once all emitters succeeded each file is written atomically (relpath.tmp,
--                       then rename), creating directories. Content must be deterministic and
--                       start with a DO NOT EDIT line naming the generator and its inputs (the
--                       one exception: docs/CAPABILITIES.md, whose first line is the count).
--                       An emitter reports problems by raising an error with "file:line: message"
--                       lines; gen.lua prints it and exits 1 without writing anything.

local dir = arg and arg[0] and arg[0]:match("^(.*)/[^/]*$") or "."
package.path = dir .. "/?.lua;" .. package.path

local model_mod = require "model"

local function usage()
  io.stderr:write("usage: lua5.4 codegen/gen.lua --root ROOT --out OUTDIR [--core-only] [--with EMITTER]...\n")
  os.exit(2)
end

local EXTERNAL = { "emit_validators", "emit_parity", "emit_ownership" }
local root, out, core_only
local with = {}
local i = 1
while i <= #arg do
  local a = arg[i]
  if a == "--root" then root = arg[i + 1]; i = i + 2
  elseif a == "--out" then out = arg[i + 1]; i = i + 2
  elseif a == "--core-only" then core_only = true; i = i + 1
  elseif a == "--with" and arg[i + 1] then with[arg[i + 1]] = true; i = i + 2
  else usage() end
end
if not root or not out then usage() end
for name in pairs(with) do
  local known = false
  for _, e in ipairs(EXTERNAL) do known = known or e == name end
  if not known then usage() end
end

local model, errors = model_mod.build(root)
if not model then
  for _, e in ipairs(errors) do io.stderr:write(e, "\n") end
  io.stderr:write(string.format("codegen: %d error%s, nothing written\n", #errors, #errors == 1 and "" or "s"))
  os.exit(1)
end

local function shell_quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

-- Emitters hand their files to model.write; nothing reaches OUTDIR until every emitter has
-- succeeded, so a failing emitter leaves the previous outputs untouched.
local pending, order = {}, {}
function model.write(relpath, content)
  assert(type(relpath) == "string" and type(content) == "string", "model.write(relpath, content)")
  if pending[relpath] == nil then order[#order + 1] = relpath end
  pending[relpath] = content
end

-- Writes OUTDIR/relpath as relpath.tmp, then renames it into place.
local made_dirs = {}
local function commit(relpath, content)
  local path = out .. "/" .. relpath
  local d = path:match("^(.*)/[^/]*$")
  if d and not made_dirs[d] then
    assert(os.execute("mkdir -p " .. shell_quote(d)), "cannot create " .. d)
    made_dirs[d] = true
  end
  local tmp = path .. ".tmp"
  local f = assert(io.open(tmp, "wb"))
  assert(f:write(content))
  assert(f:close())
  assert(os.rename(tmp, path))
end

local function run_emitter(name, mod)
  local ok, err = pcall(mod.emit, model, model.write)
  if not ok then
    io.stderr:write(tostring(err), "\n", "codegen: ", name, " failed, nothing written\n")
    os.exit(1)
  end
end

for _, name in ipairs({ "emit_routes", "emit_openapi", "emit_docs", "emit_caps" }) do
  run_emitter(name, require(name))
end
for _, name in ipairs(EXTERNAL) do
  if not core_only or with[name] then
    local ok, mod = pcall(require, name)
    if ok then
      run_emitter(name, mod)
    elseif not tostring(mod):find("module '" .. name .. "' not found", 1, true) then
      error(mod, 0)
    end
  end
end
table.sort(order)
for _, relpath in ipairs(order) do commit(relpath, pending[relpath]) end
