-- codegen/model.lua — loads spec/openapi.yaml, spec/capabilities/*.yaml and the committed
-- digest of the official contract (spec/reference/agent-server-<version>.yaml), checks them
-- strictly and builds the model every emitter reads (documented at the top of codegen/gen.lua).
-- Every problem is collected as "file:line: message"; the caller prints them all and fails once.

local load = require "load"
local schema = require "schema"

local M = {}

local HANDLER_RE = { "system", "assistants", "threads", "runs", "stateless", "crons", "items", "a2a", "mcp" }
local OP_STATUS = { implemented = true, partial = true, planned = true }
local ROW_STATUS = { honoured = true, ignored = true, rejected = true }
local TOP_KEYS = { resource = true, operations = true }
local OP_KEYS = { handler = true, status = true, note = true, fields = true, params = true }
local ROW_KEYS = { status = true, note = true }
local PUBLIC_PATHS = {
  ["/ok"] = true, ["/health"] = true, ["/info"] = true, ["/docs"] = true, ["/openapi.json"] = true,
  ["/.well-known/agent-card.json"] = true, ["/metrics"] = true, ["/metrics/json"] = true,
}
local TOLERANT_BODIES = {
  RunCreateStateful = true, RunCreateStateless = true, RunCreateStreamingStateful = true,
  RunCreateStreamingStateless = true, RunBatchCreate = true, CronCreate = true, ThreadCronCreate = true,
}

local function handler_ok(h)
  if type(h) ~= "string" or not h:match("^[a-z0-9_]+$") then return false end
  for _, p in ipairs(HANDLER_RE) do
    if h:sub(1, #p + 1) == p .. "_" and #h > #p + 1 then return true end
  end
  return false
end

-- Lists "<dir>/*.yaml" file names (not paths), sorted.
local function list_yaml(dir)
  local out = {}
  local p = io.popen('ls -1 "' .. dir .. '" 2>/dev/null')
  if p then
    for name in p:lines() do
      if name:match("%.yaml$") then out[#out + 1] = name end
    end
    p:close()
  end
  table.sort(out)
  return out
end

local function file_exists(path)
  local f = io.open(path, "rb")
  if f then f:close(); return true end
  return false
end

-- Error collector: add(pos, fmt, ...) where pos is "file:line".
local function collector()
  local list = {}
  local c = {}
  function c.add(pos, fmt, ...) list[#list + 1] = { pos = pos, msg = string.format(fmt, ...) } end
  function c.sorted()
    table.sort(list, function(a, b)
      local fa, la = a.pos:match("^(.*):(%d+)$")
      local fb, lb = b.pos:match("^(.*):(%d+)$")
      if fa ~= fb then return (fa or a.pos) < (fb or b.pos) end
      if tonumber(la) ~= tonumber(lb) then return tonumber(la) < tonumber(lb) end
      return a.msg < b.msg
    end)
    local out = {}
    for i, e in ipairs(list) do out[i] = e.pos .. ": " .. e.msg end
    return out
  end
  function c.count() return #list end
  return c
end

-- Checks every `$ref` in the tree resolves inside `doc`.
local function check_refs(doc, node, errs, seen)
  if type(node) ~= "table" or seen[node] then return end
  seen[node] = true
  if load.is_map(node) then
    for _, k in ipairs(load.keys(node)) do
      local v = node[k]
      if k == "$ref" and type(v) == "string" then
        if schema.resolve(doc, v) == nil then errs.add(load.keypos(node, k), "dangling $ref '%s'", v) end
      else
        check_refs(doc, v, errs, seen)
      end
    end
  elseif load.is_seq(node) then
    for _, v in ipairs(node) do check_refs(doc, v, errs, seen) end
  end
end

-- Checks the keys of mapping `node` against `allowed`; reports each unknown one.
local function check_keys(node, allowed, what, errs)
  for _, k in ipairs(load.keys(node)) do
    if not allowed[k] then errs.add(load.keypos(node, k), "unknown key '%s' in %s", k, what) end
  end
end

-- Loads one capability file; returns {resource, rows = {op_id -> row}} with rows
-- {op_id, handler, status, note, fields, params, file, node}.
local function load_caps(root, name, errs)
  local rel = "spec/capabilities/" .. name
  local doc, err = load.file(root .. "/" .. rel, rel)
  if not doc then errs.add(err:match("^(.-:%d+): ") or rel .. ":1", "%s", err:gsub("^.-:%d+: ", "")); return nil end
  if not load.is_map(doc) then errs.add(rel .. ":1", "capability file must be a mapping"); return nil end
  check_keys(doc, TOP_KEYS, "capability file", errs)
  local stem = name:gsub("%.yaml$", "")
  if doc.resource == nil then
    errs.add(load.pos(doc), "missing key 'resource'")
  elseif doc.resource ~= stem then
    errs.add(load.keypos(doc, "resource"), "resource '%s' does not match file name '%s'", tostring(doc.resource), stem)
  end
  local rows = {}
  local ops = doc.operations
  if ops == nil then
    errs.add(load.pos(doc), "missing key 'operations'")
    return { resource = stem, rows = rows, order = {} }
  end
  if not load.is_map(ops) then
    errs.add(load.keypos(doc, "operations"), "'operations' must be a mapping of operationId to row")
    return { resource = stem, rows = rows, order = {} }
  end
  local order = {}
  for _, op_id in ipairs(load.keys(ops)) do
    local r = ops[op_id]
    local where = load.keypos(ops, op_id)
    if not load.is_map(r) then
      errs.add(where, "operation '%s': row must be a mapping", op_id)
    else
      check_keys(r, OP_KEYS, "operation '" .. op_id .. "'", errs)
      local row = { op_id = op_id, handler = r.handler, status = r.status, note = r.note,
                    fields = {}, params = {}, file = rel, node = r, pos = where, resource = stem }
      if r.status == nil then
        errs.add(where, "operation '%s': missing 'status'", op_id)
      elseif not OP_STATUS[r.status] then
        errs.add(load.keypos(r, "status"), "operation '%s': bad status '%s' (implemented | partial | planned)",
          op_id, tostring(r.status))
      end
      if r.handler == nil then
        if r.status ~= "planned" then errs.add(where, "operation '%s': missing 'handler'", op_id) end
      elseif not handler_ok(r.handler) then
        errs.add(load.keypos(r, "handler"),
          "operation '%s': handler '%s' does not match ^(system|assistants|threads|runs|stateless|crons|items|a2a|mcp)_[a-z0-9_]+$",
          op_id, tostring(r.handler))
      end
      if r.note ~= nil and type(r.note) ~= "string" then
        errs.add(load.keypos(r, "note"), "operation '%s': note must be a string", op_id)
      end
      if r.status == "partial" and (type(r.note) ~= "string" or r.note == "") then
        errs.add(where, "operation '%s': status partial needs a note", op_id)
      end
      for _, kind in ipairs({ "fields", "params" }) do
        local t = r[kind]
        if t ~= nil and not load.is_map(t) then
          errs.add(load.keypos(r, kind), "operation '%s': '%s' must be a mapping", op_id, kind)
        elseif t ~= nil then
          for _, fname in ipairs(load.keys(t)) do
            local fr = t[fname]
            local fpos = load.keypos(t, fname)
            if not load.is_map(fr) then
              errs.add(fpos, "operation '%s': %s row '%s' must be a mapping {status: ...}", op_id, kind, fname)
            else
              check_keys(fr, ROW_KEYS, kind .. " row '" .. fname .. "'", errs)
              if fr.status == nil then
                errs.add(fpos, "operation '%s': %s row '%s' has no status", op_id, kind, fname)
              elseif not ROW_STATUS[fr.status] then
                errs.add(load.keypos(fr, "status"), "operation '%s': %s row '%s': bad status '%s' (honoured | ignored | rejected)",
                  op_id, kind, fname, tostring(fr.status))
              end
              if fr.note ~= nil and type(fr.note) ~= "string" then
                errs.add(load.keypos(fr, "note"), "operation '%s': %s row '%s': note must be a string", op_id, kind, fname)
              end
              row[kind][fname] = { status = fr.status, note = fr.note, pos = fpos }
            end
          end
          row[kind .. "_node"] = t
        end
      end
      rows[op_id] = row
      order[#order + 1] = op_id
    end
  end
  return { resource = stem, rows = rows, order = order }
end

-- Loads the committed digest. Returns {version, ops = list, by_key = {"METHOD path" -> op},
-- schemas = node} or nil after reporting an error.
local function load_digest(root, version, errs)
  local rel = "spec/reference/agent-server-" .. version .. ".yaml"
  if not file_exists(root .. "/" .. rel) then
    errs.add("spec/openapi.yaml:1", "no digest %s for x-contract-version %s (run: make digest)", rel, version)
    return nil
  end
  local doc, err = load.file(root .. "/" .. rel, rel)
  if not doc then errs.add(err:match("^(.-:%d+): ") or rel .. ":1", "%s", err:gsub("^.-:%d+: ", "")); return nil end
  local d = { version = version, file = rel, ops = {}, by_key = {}, by_id = {},
              schemas = load.is_map(doc.schemas) and doc.schemas or load.new_map(rel) }
  if load.is_seq(doc.operations) then
    for _, o in ipairs(doc.operations) do
      d.ops[#d.ops + 1] = o
      d.by_key[tostring(o.method) .. " " .. tostring(o.path)] = o
      d.by_id[tostring(o.operationId)] = o
    end
  end
  return d
end

-- Builds the model for the tree at `root`. Returns model, or nil and a list of error lines.
function M.build(root)
  local errs = collector()
  local spec_rel = "spec/openapi.yaml"
  local spec, err = load.file(root .. "/" .. spec_rel, spec_rel)
  if not spec then return nil, { err } end
  if not load.is_map(spec) then return nil, { spec_rel .. ":1: spec must be a mapping" } end

  check_refs(spec, spec, errs, {})

  -- capability rows
  local rows, cap_files, caps_broken = {}, {}, false
  for _, name in ipairs(list_yaml(root .. "/spec/capabilities")) do
    local c = load_caps(root, name, errs)
    if not c then
      caps_broken = true
    else
      cap_files[#cap_files + 1] = c
      for _, op_id in ipairs(c.order) do
        local row = c.rows[op_id]
        if rows[op_id] then
          errs.add(row.pos, "operation '%s' already has a row at %s", op_id, rows[op_id].pos)
        else
          rows[op_id] = row
        end
      end
    end
  end

  -- operations
  local ops, seen_ids = {}, {}
  schema.each_operation(spec, function(path, method, item, op)
    local pos = load.keypos(item, method)
    local op_id = op.operationId
    if type(op_id) ~= "string" then
      errs.add(pos, "%s %s has no operationId", method:upper(), path)
      return
    end
    if seen_ids[op_id] then
      errs.add(load.keypos(op, "operationId"), "duplicate operationId '%s' (first at %s)", op_id, seen_ids[op_id])
      return
    end
    seen_ids[op_id] = load.keypos(op, "operationId")
    local body, body_required = schema.op_body(spec, op)
    local params = schema.op_params(spec, item, op)
    local extension = op["x-lgserve-extension"] == true or item["x-lgserve-extension"] == true
    local o = {
      op_id = op_id, method = method:upper(), path = path, op = op, pos = pos,
      tag = load.is_seq(op.tags) and op.tags[1] or "Other",
      summary = type(op.summary) == "string" and op.summary or nil,
      extension = extension, sdk_extra = op["x-lgserve-sdk-extra"] == true,
      body_schema = body, body_required = body_required, params = params,
      body_fields = {}, body_required_fields = {},
    }
    if body ~= nil then o.body_fields, o.body_required_fields = schema.fields(spec, body) end
    local row = rows[op_id]
    if not row then
      -- an unreadable capability file would make every one of its operations look row-less
      if not caps_broken then
        errs.add(pos, "operation '%s' (%s %s) has no capability row", op_id, o.method, path)
      end
      return
    end
    row.used = true
    o.caps, o.status, o.resource, o.note = row, row.status, row.resource, row.note
    o.handler = row.status == "planned" and "http_not_implemented" or row.handler

    -- field/param rows against the operation
    local have_field, have_param = {}, {}
    for _, f in ipairs(o.body_fields) do have_field[f.name] = true end
    for _, p in ipairs(params) do have_param[p.name] = true end
    for _, kind in ipairs({ "fields", "params" }) do
      local have = kind == "fields" and have_field or have_param
      local node = row[kind .. "_node"]
      for _, name in ipairs(node and load.keys(node) or {}) do
        if not have[name] then
          errs.add(row[kind][name].pos, "operation '%s' has no %s '%s'", op_id,
            kind == "fields" and "body field" or "parameter", name)
        end
      end
    end
    if row.status == "implemented" or row.status == "partial" then
      for _, f in ipairs(o.body_fields) do
        if not row.fields[f.name] then
          errs.add(row.pos, "operation '%s': missing fields row for body field '%s'", op_id, f.name)
        end
      end
      for _, p in ipairs(params) do
        if not row.params[p.name] then
          errs.add(row.pos, "operation '%s': missing params row for parameter '%s'", op_id, p.name)
        end
      end
    end

    -- flags
    local flags = {}
    if schema.op_200_media(spec, op)["text/event-stream"] then flags[#flags + 1] = "RF_STREAM" end
    if extension then flags[#flags + 1] = "RF_EXTENSION" end
    if o.sdk_extra then flags[#flags + 1] = "RF_SDK_EXTRA" end
    if row.status == "planned" then flags[#flags + 1] = "RF_PLANNED" end
    if PUBLIC_PATHS[path] then flags[#flags + 1] = "RF_PUBLIC" end
    local bname = type(body) == "table" and schema.ref_name(body["$ref"])
    if bname and TOLERANT_BODIES[bname] then flags[#flags + 1] = "RF_TOLERANT" end
    o.flags = flags
    ops[#ops + 1] = o
  end)

  for _, c in ipairs(cap_files) do
    for _, op_id in ipairs(c.order) do
      local row = c.rows[op_id]
      if not row.used and not seen_ids[op_id] then
        errs.add(row.pos, "capability row for unknown operation '%s'", op_id)
      end
    end
  end

  local version = load.is_map(spec.info) and spec.info["x-contract-version"]
  local digest
  if type(version) ~= "string" then
    errs.add(load.pos(spec.info or spec), "info.x-contract-version is missing")
  else
    digest = load_digest(root, version, errs)
  end

  if errs.count() > 0 then return nil, errs.sorted() end

  table.sort(ops, function(a, b)
    if a.path ~= b.path then return a.path < b.path end
    return a.method < b.method
  end)
  local tags = {}
  if load.is_seq(spec.tags) then
    for _, t in ipairs(spec.tags) do
      if load.is_map(t) and type(t.name) == "string" then tags[#tags + 1] = t.name end
    end
  end
  return {
    spec = spec, ops = ops, tags = tags, digest = digest, cap_files = cap_files,
    resolve_ref = function(ref) return schema.resolve(spec, ref) end,
  }
end

return M
