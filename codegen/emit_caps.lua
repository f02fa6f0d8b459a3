-- codegen/emit_caps.lua — writes docs/CAPABILITIES.md, the published capability matrix: how many
-- official operations lgserve implements, every official operation with the status of each of
-- its parameters and top-level body fields, our extensions, and the difference between
-- spec/openapi.yaml and the committed digest of the official contract.

local load = require "load"
local schema = require "schema"
local text = require "text"

local M = {}

local MD = text.md

local ROW_TEXT = {
  honoured = "honoured",
  ignored = "accepted-not-honoured (ignored)",
  rejected = "rejected (422)",
}

-- Facts list from a digest facts mapping (skipping the parameter keys name/in/required).
local function facts_of_map(node)
  local out = {}
  for _, k in ipairs(load.keys(node)) do
    if k ~= "name" and k ~= "in" and k ~= "required" then
      local v = node[k]
      if k == "items" then v = facts_of_map(v) end
      out[#out + 1] = { k, v }
    end
  end
  return out
end

-- The digest's view of one operation: params (list of {name, in, required, facts}) and body
-- fields (list of {name, required, facts}).
local function digest_shape(digest, dop)
  local params, fields = {}, {}
  if load.is_seq(dop.parameters) then
    for _, p in ipairs(dop.parameters) do
      params[#params + 1] = { name = p.name, ["in"] = p["in"], required = p.required == true, facts = facts_of_map(p) }
    end
  end
  local obj = dop.body
  if type(dop.body_ref) == "string" then obj = digest.schemas[dop.body_ref] end
  if load.is_map(obj) then
    local req = {}
    if load.is_seq(obj.required) then for _, n in ipairs(obj.required) do req[n] = true end end
    for _, k in ipairs(load.keys(obj.properties)) do
      fields[#fields + 1] = { name = k, required = req[k] == true, facts = facts_of_map(obj.properties[k]) }
    end
  end
  return params, fields
end

-- Our spec's view of one operation, in the same shape as digest_shape.
local function spec_shape(model, o)
  local params, fields = {}, {}
  for _, p in ipairs(o.params) do
    params[#params + 1] = { name = p.name, ["in"] = p["in"], required = p.required == true,
                            facts = schema.facts(model.spec, p.schema), sdk_extra = p["x-lgserve-sdk-extra"] == true }
  end
  local rb = schema.deref(model.spec, o.op.requestBody)
  local body_extra = load.is_map(rb) and rb["x-lgserve-sdk-extra"] == true
  for _, f in ipairs(o.body_fields) do
    local s = schema.deref(model.spec, f.schema)
    fields[#fields + 1] = { name = f.name, required = o.body_required_fields[f.name] == true,
                            facts = schema.facts(model.spec, f.schema),
                            sdk_extra = body_extra or (load.is_map(s) and s["x-lgserve-sdk-extra"] == true) }
  end
  return params, fields
end

local function index(list)
  local t = {}
  for _, x in ipairs(list) do t[x.name] = x end
  return t
end

-- Status text of one parameter/field of an official operation.
local function item_status(o, kind, name, in_spec)
  if not o or not in_spec then return "missing" end
  if o.status == "planned" then return "not-yet" end
  local row = o.caps[kind][name]
  if not row then return "not-yet" end
  return ROW_TEXT[row.status] or row.status
end

local function item_note(o, kind, name)
  local row = o and o.caps[kind][name]
  return row and type(row.note) == "string" and row.note or ""
end

local function op_title(method, path, op_id)
  return string.format("`%s %s` — `%s`", method, path, op_id)
end

-- Appends the parameter/body field table of one operation: the official items (`dparams`,
-- `dfields`, in contract order) first, then the ones only our spec has. `o` is our operation
-- or nil when our spec lacks it. Nothing is added for an operation without either.
local function item_table(add, model, o, method, path, op_id, dparams, dfields)
  local sparams, sfields = {}, {}
  if o then sparams, sfields = spec_shape(model, o) end
  local rows = {}
  local function collect(kind, dlist, slist)
    local sidx, didx = index(slist), index(dlist)
    local function label(x) return kind == "params" and ("param (" .. tostring(x["in"]) .. ")") or "body field" end
    for _, d in ipairs(dlist) do
      rows[#rows + 1] = { label(d), d.name, item_status(o, kind, d.name, sidx[d.name] ~= nil), item_note(o, kind, d.name) }
    end
    for _, x in ipairs(slist) do
      if not didx[x.name] then
        local note = item_note(o, kind, x.name)
        if #dlist > 0 or x.sdk_extra then
          note = (x.sdk_extra and "SDK extra" or "lgserve addition") .. (note ~= "" and ("; " .. note) or "")
        end
        rows[#rows + 1] = { label(x), x.name, item_status(o, kind, x.name, true), note }
      end
    end
  end
  collect("params", dparams, sparams)
  collect("fields", dfields, sfields)
  if #rows == 0 then return end
  add("")
  add("#### " .. op_title(method, MD(path), op_id))
  add("")
  add("| Kind | Name | Status | Note |")
  add("|---|---|---|---|")
  for _, r in ipairs(rows) do
    add(string.format("| %s | `%s` | %s | %s |", r[1], MD(r[2]), r[3], MD(r[4])))
  end
end

-- Builds the whole document.
function M.document(model)
  local digest = model.digest
  local by_key, by_id = {}, {}
  for _, o in ipairs(model.ops) do
    by_key[o.method .. " " .. o.path] = o
    by_id[o.op_id] = o
  end

  -- official operations, matched by method+path (falling back to operationId)
  local official, matched = {}, {}
  for _, dop in ipairs(digest.ops) do
    local key = tostring(dop.method) .. " " .. tostring(dop.path)
    local o = by_key[key] or by_id[tostring(dop.operationId)]
    if o then matched[o] = true end
    official[#official + 1] = { d = dop, o = o }
  end
  table.sort(official, function(a, b)
    if a.d.path ~= b.d.path then return a.d.path < b.d.path end
    return a.d.method < b.d.method
  end)
  local counts = { implemented = 0, partial = 0, planned = 0, missing = 0 }
  for _, e in ipairs(official) do
    local s = e.o and e.o.status or "missing"
    counts[s] = counts[s] + 1
  end
  local ours = {}
  for _, o in ipairs(model.ops) do if not matched[o] then ours[#ours + 1] = o end end

  local out = {}
  local function add(s) out[#out + 1] = s end
  add(string.format("%d of %d official operations implemented", counts.implemented, #official))
  add(string.format("%d partial, %d planned, %d missing from our spec; plus %d operations of our own",
    counts.partial, counts.planned, counts.missing, #ours))
  local ignored, rejected = 0, 0
  for _, o in ipairs(model.ops) do
    if o.status ~= "planned" then
      for _, kind in ipairs({ "params", "fields" }) do
        for _, r in pairs(o.caps[kind]) do
          if r.status == "ignored" then ignored = ignored + 1 elseif r.status == "rejected" then rejected = rejected + 1 end
        end
      end
    end
  end
  add(string.format("%d parameters and body fields accepted but not honoured (ignored), %d rejected (422)", ignored, rejected))
  add("")
  add("<!-- DO NOT EDIT. Generated by codegen/emit_caps.lua from spec/openapi.yaml, spec/capabilities/*.yaml, "
    .. digest.file .. ". Fix: make regen -->")
  add("")
  add("# lgserve capability matrix")
  add("")
  add(string.format("What lgserve does with each operation of the official LangGraph Agent Server API (contract %s),"
    .. " taken from `spec/capabilities/*.yaml`. Operation status: **implemented** (all the contract asks works),"
    .. " **partial** (works; the note says what does not), **planned** (answers 501). Parameter and body field status:"
    .. " **honoured**; **accepted-not-honoured (ignored)**: accepted but without effect yet; **rejected (422)**:"
    .. " a request that sets it is refused naming it; **missing**: in the official contract but not in our spec;"
    .. " **not-yet**: the operation is planned.", digest.version))
  add("")

  -- official operations grouped by tag
  add("## Official operations")
  local tag_order, groups = {}, {}
  for _, t in ipairs(model.tags) do groups[t] = {}; tag_order[#tag_order + 1] = t end
  for _, e in ipairs(official) do
    local tag = e.o and e.o.tag or (load.is_seq(e.d.tags) and e.d.tags[1]) or "Other"
    if not groups[tag] then groups[tag] = {}; tag_order[#tag_order + 1] = tag end
    table.insert(groups[tag], e)
  end
  for _, tag in ipairs(tag_order) do
    if #groups[tag] > 0 then
      add("")
      add("### " .. tag)
      add("")
      add("| Method | Path | operationId | Status | Note |")
      add("|---|---|---|---|---|")
      for _, e in ipairs(groups[tag]) do
        add(string.format("| %s | `%s` | `%s` | %s | %s |", e.d.method, MD(e.d.path), e.d.operationId,
          e.o and e.o.status or "missing", MD(e.o and e.o.note or "")))
      end
      for _, e in ipairs(groups[tag]) do
        local dparams, dfields = digest_shape(digest, e.d)
        item_table(add, model, e.o, e.d.method, e.d.path, e.d.operationId, dparams, dfields)
      end
    end
  end

  -- our own operations
  add("")
  add("## Operations of our own")
  add("")
  if #ours == 0 then
    add("None.")
  else
    add("Not in the official contract: **extension** operations are lgserve's (`x-lgserve-extension`);"
      .. " **SDK extra** operations are called by the official SDKs although the official spec lacks them.")
    add("")
    add("| Method | Path | operationId | Kind | Status | Note |")
    add("|---|---|---|---|---|---|")
    for _, o in ipairs(ours) do
      local kind = o.extension and "extension" or (o.sdk_extra and "SDK extra" or "unmarked")
      add(string.format("| %s | `%s` | `%s` | %s | %s | %s |", o.method, MD(o.path), o.op_id, kind, o.status, MD(o.note or "")))
    end
    for _, o in ipairs(ours) do item_table(add, model, o, o.method, o.path, o.op_id, {}, {}) end
  end

  -- spec vs digest
  add("")
  add(string.format("## spec/openapi.yaml compared with the official contract %s", digest.version))
  add("")
  add(string.format("Compared with `%s`, the facts-only digest of the official OpenAPI (regenerate it with `make digest`).",
    digest.file))
  local missing_ops, lack, extra, differ = {}, {}, {}, {}
  for _, e in ipairs(official) do
    if not e.o then
      missing_ops[#missing_ops + 1] = string.format("- %s", op_title(e.d.method, e.d.path, e.d.operationId))
    else
      local dparams, dfields = digest_shape(digest, e.d)
      local sparams, sfields = spec_shape(model, e.o)
      local where = string.format("`%s %s`", e.d.method, e.d.path)
      for _, pair in ipairs({ { "parameter", dparams, sparams }, { "body field", dfields, sfields } }) do
        local what, dl, sl = pair[1], pair[2], pair[3]
        local si, di = index(sl), index(dl)
        for _, d in ipairs(dl) do
          local s = si[d.name]
          if not s then
            lack[#lack + 1] = string.format("- %s %s `%s`", where, what, d.name)
          else
            local dt, st = schema.facts_text(d.facts), schema.facts_text(s.facts)
            if d.required then dt = dt .. ", required" end
            if s.required then st = st .. ", required" end
            if dt ~= st then
              differ[#differ + 1] = string.format("- %s %s `%s`: official `%s`, ours `%s`", where, what, d.name,
                MD(dt), MD(st))
            end
          end
        end
        for _, s in ipairs(sl) do
          if not di[s.name] then
            extra[#extra + 1] = string.format("- %s %s `%s`%s", where, what, s.name, s.sdk_extra and " (SDK extra)" or "")
          end
        end
      end
    end
  end
  local unmarked = {}
  for _, o in ipairs(ours) do
    if not o.extension and not o.sdk_extra then
      unmarked[#unmarked + 1] = string.format("- %s", op_title(o.method, o.path, o.op_id))
    end
  end
  local function section(title, list, none)
    add("")
    add("### " .. title)
    add("")
    if #list == 0 then add(none) else for _, l in ipairs(list) do add(l) end end
  end
  section("Official operations our spec lacks", missing_ops, "None.")
  section("Official parameters and body fields our spec lacks", lack, "None.")
  section("Parameters and body fields whose facts differ (type, enum, default, format, nullable, required)", differ, "None.")
  section("Parameters and body fields we add to official operations", extra, "None.")
  local added = {}
  for _, o in ipairs(ours) do
    added[#added + 1] = string.format("- %s (%s)", op_title(o.method, o.path, o.op_id),
      o.extension and "extension" or (o.sdk_extra and "SDK extra" or "unmarked"))
  end
  section("Operations we add", added, "None.")
  section("Operations neither official nor marked x-lgserve-extension / x-lgserve-sdk-extra", unmarked, "None.")
  return table.concat(out, "\n") .. "\n"
end

function M.emit(model)
  model.write("docs/CAPABILITIES.md", M.document(model))
end

return M
