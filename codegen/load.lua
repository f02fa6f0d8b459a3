-- codegen/load.lua — reads YAML (and JSON, which libyaml parses as YAML) into plain Lua tables
-- while remembering where every node came from. lyaml's `load` drops positions, so this builds
-- the tables from libyaml's event stream and keeps side tables:
--   * the ordered key list of every mapping (JSON output follows YAML order),
--   * whether a table is a mapping or a sequence (an empty one is ambiguous otherwise),
--   * "file:line" of every mapping, sequence, mapping key and sequence element.
-- Scalars follow the YAML 1.2 core schema: plain null/~ -> load.null, true/false -> boolean,
-- integers and floats -> numbers; quoted scalars and mapping keys are always strings.

local yaml = require "yaml"

local M = {}

-- The value of a YAML/JSON null. A unique table, so it can sit in Lua tables.
M.null = setmetatable({}, { __tostring = function() return "null" end, __name = "null" })

-- node -> { kind = "map"|"seq", file, line, keys = {...}, keyline = {k=line}, idxline = {i=line} }
local info = setmetatable({}, { __mode = "k" })

-- Converts a plain scalar's text to its core-schema value.
local function plain_value(s)
  if s == "" or s == "~" or s == "null" or s == "Null" or s == "NULL" then return M.null end
  if s == "true" or s == "True" or s == "TRUE" then return true end
  if s == "false" or s == "False" or s == "FALSE" then return false end
  if s:match("^[-+]?%d+$") then return math.tointeger(tonumber(s)) or tonumber(s) end
  if s:match("^0x%x+$") then return math.tointeger(tonumber(s)) end
  if s:match("^[-+]?%d*%.?%d+[eE][-+]?%d+$") or s:match("^[-+]?%d+%.%d*$")
      or s:match("^[-+]?%d*%.%d+$") or s:match("^[-+]?%d+%.?%d*[eE][-+]?%d+$") then
    return tonumber(s)
  end
  if s == ".inf" or s == "+.inf" then return math.huge end
  if s == "-.inf" then return -math.huge end
  return s
end

-- Parses `text` (named `fname` in messages). Returns the root node, or nil and "fname:line: msg".
function M.parse(text, fname)
  local ok, result = pcall(function()
    local p = yaml.parser(text)
    local stack, anchors, root = {}, {}, nil
    local function add(v, line)
      local top = stack[#stack]
      if not top then root = v; return end
      local ti = info[top.node]
      if ti.kind == "seq" then
        local i = #top.node + 1
        top.node[i] = v
        ti.idxline[i] = line
      elseif top.key == nil then
        if type(v) == "table" then error({ line = line, msg = "mapping key must be a scalar" }) end
        top.key, top.keyline = tostring(v), line
      else
        if ti.keyline[top.key] then
          error({ line = top.keyline, msg = "duplicate key '" .. top.key .. "'" })
        end
        top.node[top.key] = v
        ti.keys[#ti.keys + 1] = top.key
        ti.keyline[top.key] = top.keyline
        top.key = nil
      end
    end
    while true do
      local ev = p()
      if not ev then break end
      local line = ev.start_mark and ev.start_mark.line + 1 or 0
      local t = ev.type
      if t == "MAPPING_START" or t == "SEQUENCE_START" then
        local node = {}
        info[node] = { kind = t == "MAPPING_START" and "map" or "seq", file = fname, line = line,
                       keys = {}, keyline = {}, idxline = {} }
        if ev.anchor then anchors[ev.anchor] = node end
        add(node, line)
        stack[#stack + 1] = { node = node }
      elseif t == "MAPPING_END" or t == "SEQUENCE_END" then
        stack[#stack] = nil
      elseif t == "SCALAR" then
        local v
        local top = stack[#stack]
        local is_key = top and info[top.node].kind == "map" and top.key == nil
        if ev.style == "PLAIN" and not is_key then v = plain_value(ev.value) else v = ev.value end
        if ev.anchor then anchors[ev.anchor] = v end
        add(v, line)
      elseif t == "ALIAS" then
        local v = anchors[ev.anchor]
        if v == nil then error({ line = line, msg = "unknown alias '" .. ev.anchor .. "'" }) end
        add(v, line)
      elseif t == "STREAM_END" then
        break
      end
    end
    return root
  end)
  if ok then return result end
  if type(result) == "table" then return nil, string.format("%s:%d: %s", fname, result.line, result.msg) end
  -- lyaml: "<what> at document: 1, line: 8, column: 15\nwhile parsing ..." (1-based)
  local msg = tostring(result):match("^[^\n]*")
  local what, l, c = msg:match("^(.-) at document: %d+, line: (%d+), column: (%d+)")
  if what then return nil, string.format("%s:%s: YAML: %s (column %s)", fname, l, what, c) end
  return nil, string.format("%s:1: YAML: %s", fname, msg)
end

-- Reads and parses the file at `path`, naming it `fname` (default: path) in positions.
function M.file(path, fname)
  local f, err = io.open(path, "rb")
  if not f then return nil, (fname or path) .. ":1: " .. tostring(err) end
  local text = f:read("a")
  f:close()
  return M.parse(text, fname or path)
end

-- "map", "seq" or nil (scalar / foreign table).
function M.kind(node) local i = type(node) == "table" and info[node]; return i and i.kind end

function M.is_map(node) return M.kind(node) == "map" end
function M.is_seq(node) return M.kind(node) == "seq" end

-- Ordered keys of a mapping (empty list for anything else). Borrowed: do not modify.
function M.keys(node) local i = type(node) == "table" and info[node]; return i and i.keys or {} end

-- "file:line" of a mapping/sequence node.
function M.pos(node)
  local i = type(node) == "table" and info[node]
  if not i then return "?:0" end
  return i.file .. ":" .. i.line
end

-- "file:line" of key `k` of mapping `node` (or element k of a sequence); falls back to the node.
function M.keypos(node, k)
  local i = type(node) == "table" and info[node]
  if not i then return "?:0" end
  local l = i.kind == "seq" and i.idxline[k] or i.keyline[k]
  return i.file .. ":" .. (l or i.line)
end

-- Creates an empty mapping node built in code (not read from a file).
function M.new_map(fname, line)
  local node = {}
  info[node] = { kind = "map", file = fname or "?", line = line or 0, keys = {}, keyline = {}, idxline = {} }
  return node
end

return M
