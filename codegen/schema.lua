-- codegen/schema.lua — OpenAPI helpers shared by the generator and the digest writer: JSON
-- pointer resolution of local `$ref`s, operation walking, flattening a request body into its
-- top-level fields, and the "facts" of a schema (type, enum, default, format, nullable) that
-- the digest records and the parity report compares. Works on tables made by codegen/load.lua.

local load = require "load"

local M = {}

M.METHODS = { "get", "post", "put", "patch", "delete" }

-- Resolves a local reference "#/a/b" against `doc`. Returns the node or nil.
function M.resolve(doc, ref)
  if type(ref) ~= "string" or ref:sub(1, 2) ~= "#/" then return nil end
  local node = doc
  for part in ref:sub(3):gmatch("[^/]+") do
    part = part:gsub("~1", "/"):gsub("~0", "~")
    if type(node) ~= "table" or node == load.null then return nil end
    node = node[part]
    if node == nil then return nil end
  end
  return node
end

-- Follows `$ref` chains (bounded). Returns the target (or `node` itself when it is no ref).
function M.deref(doc, node)
  for _ = 1, 16 do
    if type(node) ~= "table" or type(node["$ref"]) ~= "string" then return node end
    local t = M.resolve(doc, node["$ref"])
    if t == nil then return node end
    node = t
  end
  return node
end

-- The last segment of a ref ("#/components/schemas/Foo" -> "Foo").
function M.ref_name(ref) return type(ref) == "string" and ref:match("([^/]+)$") or nil end

-- Calls fn(path, method, path_item, op) for every operation, in document order.
function M.each_operation(doc, fn)
  local paths = doc.paths
  if not load.is_map(paths) then return end
  for _, p in ipairs(load.keys(paths)) do
    local item = paths[p]
    if load.is_map(item) then
      for _, m in ipairs(load.keys(item)) do
        for _, known in ipairs(M.METHODS) do
          if m == known and load.is_map(item[m]) then fn(p, m, item, item[m]) end
        end
      end
    end
  end
end

-- The parameter objects of an operation (path-level ones first, refs resolved), in order.
function M.op_params(doc, item, op)
  local out, seen = {}, {}
  for _, src in ipairs({ op.parameters, item.parameters }) do
    if load.is_seq(src) then
      for _, p in ipairs(src) do
        local r = M.deref(doc, p)
        if type(r) == "table" and type(r.name) == "string" then
          local key = tostring(r["in"]) .. ":" .. r.name
          if not seen[key] then seen[key] = true; out[#out + 1] = r end
        end
      end
    end
  end
  return out
end

-- The JSON request body of an operation: schema (unresolved, as written) and required flag.
function M.op_body(doc, op)
  local rb = M.deref(doc, op.requestBody)
  if not load.is_map(rb) or not load.is_map(rb.content) then return nil, false end
  local media = rb.content["application/json"]
  if not load.is_map(media) then return nil, false end
  return media.schema, rb.required == true
end

-- The media types of an operation's 200 response (refs resolved), as a set.
function M.op_200_media(doc, op)
  local set = {}
  local r = load.is_map(op.responses) and M.deref(doc, op.responses["200"])
  if load.is_map(r) and load.is_map(r.content) then
    for _, k in ipairs(load.keys(r.content)) do set[k] = true end
  end
  return set
end

-- Flattens an object schema into its top-level fields: returns a list of {name, schema} in
-- declaration order (allOf members in order, later duplicates replace earlier ones) and a set
-- of required names.
function M.fields(doc, schema)
  local list, index, required = {}, {}, {}
  local function walk(s, depth)
    s = M.deref(doc, s)
    if not load.is_map(s) or depth > 16 then return end
    if load.is_seq(s.allOf) then
      for _, sub in ipairs(s.allOf) do walk(sub, depth + 1) end
    end
    if load.is_map(s.properties) then
      for _, k in ipairs(load.keys(s.properties)) do
        if index[k] then list[index[k]].schema = s.properties[k]
        else list[#list + 1] = { name = k, schema = s.properties[k] }; index[k] = #list end
      end
    end
    if load.is_seq(s.required) then
      for _, k in ipairs(s.required) do required[k] = true end
    end
  end
  walk(schema, 0)
  return list, required
end

local function add_unique(list, seen, v)
  local key = v == load.null and "\0null" or tostring(v)
  if not seen[key] then seen[key] = true; list[#list + 1] = v end
end

-- The facts of one property/parameter schema, as an ordered list of {key, value}:
-- ref, type (string or list), items, enum, default, format, nullable. Alternatives of
-- anyOf/oneOf are merged; a null alternative (or "null" in a type list) sets nullable; a
-- format is reported only when every typed alternative declares that same format.
function M.facts(doc, s)
  local types, tseen, enum, eseen, refs, rseen = {}, {}, {}, {}, {}, {}
  local fmt, nullable, default, items
  local fmt_agrees = true
  local function visit(x, depth)
    if not load.is_map(x) or depth > 8 then return end
    if type(x["$ref"]) == "string" then add_unique(refs, rseen, M.ref_name(x["$ref"])) end
    local t = x.type
    if type(t) == "string" then
      if t == "null" then nullable = true else add_unique(types, tseen, t) end
    elseif load.is_seq(t) then
      for _, v in ipairs(t) do
        if v == "null" then nullable = true else add_unique(types, tseen, v) end
      end
    end
    if x.nullable == true then nullable = true end
    if load.is_seq(x.enum) then
      for _, v in ipairs(x.enum) do
        if v == load.null then nullable = true else add_unique(enum, eseen, v) end
      end
    end
    if x.const ~= nil then add_unique(enum, eseen, x.const) end
    local typed = (type(t) == "string" and t ~= "null") or load.is_seq(t)
    if type(x.format) == "string" then
      if fmt == nil then fmt = x.format elseif fmt ~= x.format then fmt_agrees = false end
    elseif typed then
      fmt_agrees = false
    end
    if default == nil and x.default ~= nil then default = x.default end
    if items == nil and x.items ~= nil then items = x.items end
    for _, alt in ipairs({ "anyOf", "oneOf", "allOf" }) do
      if load.is_seq(x[alt]) then
        for _, sub in ipairs(x[alt]) do visit(sub, depth + 1) end
      end
    end
  end
  visit(s, 0)
  local out = {}
  if #refs > 0 then out[#out + 1] = { "ref", #refs == 1 and refs[1] or refs } end
  if #types > 0 then out[#out + 1] = { "type", #types == 1 and types[1] or types } end
  if items ~= nil then
    local it = M.facts(doc, items)
    if #it > 0 then out[#out + 1] = { "items", it } end
  end
  if #enum > 0 then out[#out + 1] = { "enum", enum } end
  if default ~= nil then out[#out + 1] = { "default", default } end
  if fmt and fmt_agrees then out[#out + 1] = { "format", fmt } end
  if nullable then out[#out + 1] = { "nullable", true } end
  return out
end

-- Renders facts (from M.facts) as a short one-line text, e.g. "string, enum [a, b], default a".
function M.facts_text(facts)
  local function val(v)
    if v == load.null then return "null" end
    if load.is_map(v) then return require("text").json(v) end
    if type(v) == "table" then
      local parts = {}
      for _, x in ipairs(v) do parts[#parts + 1] = val(x) end
      return "[" .. table.concat(parts, ", ") .. "]"
    end
    return tostring(v)
  end
  local parts = {}
  for _, kv in ipairs(facts) do
    local k, v = kv[1], kv[2]
    if k == "items" then parts[#parts + 1] = "items (" .. M.facts_text(v) .. ")"
    elseif k == "nullable" then parts[#parts + 1] = "nullable"
    elseif k == "type" or k == "ref" then parts[#parts + 1] = val(v)
    else parts[#parts + 1] = k .. " " .. val(v) end
  end
  return table.concat(parts, ", ")
end

return M
