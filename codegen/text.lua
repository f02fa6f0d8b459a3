-- codegen/text.lua — text encoders the emitters share: compact JSON of loaded nodes (keys in
-- YAML order), YAML scalars for the digest, C string literals split into short lines, and HTML
-- and Markdown escaping. Everything here is deterministic.

local load = require "load"

local M = {}

-- Shortest decimal text that reads back as the same number.
function M.number(v)
  if math.type(v) == "integer" then return string.format("%d", v) end
  if v ~= v or v == math.huge or v == -math.huge then error("non-finite number in spec") end
  if v == math.floor(v) and math.abs(v) < 2 ^ 53 then return string.format("%.1f", v) end
  for p = 1, 17 do
    local s = string.format("%." .. p .. "g", v)
    if tonumber(s) == v then return s end
  end
  return string.format("%.17g", v)
end

-- JSON string literal of `s` (UTF-8 passes through; control characters are escaped).
function M.json_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    if c == '"' then return '\\"' elseif c == "\\" then return "\\\\"
    elseif c == "\n" then return "\\n" elseif c == "\r" then return "\\r" elseif c == "\t" then return "\\t"
    elseif c == "\b" then return "\\b" elseif c == "\f" then return "\\f" end
    return string.format("\\u%04x", c:byte())
  end) .. '"'
end

-- Compact JSON of a loaded node: mappings keep their YAML key order.
function M.json(node)
  local buf = {}
  local function enc(v)
    local t = type(v)
    if v == load.null then buf[#buf + 1] = "null"
    elseif t == "string" then buf[#buf + 1] = M.json_string(v)
    elseif t == "number" then buf[#buf + 1] = M.number(v)
    elseif t == "boolean" then buf[#buf + 1] = v and "true" or "false"
    elseif load.is_map(v) then
      buf[#buf + 1] = "{"
      for i, k in ipairs(load.keys(v)) do
        if i > 1 then buf[#buf + 1] = "," end
        buf[#buf + 1] = M.json_string(k)
        buf[#buf + 1] = ":"
        enc(v[k])
      end
      buf[#buf + 1] = "}"
    elseif t == "table" then
      buf[#buf + 1] = "["
      for i, x in ipairs(v) do
        if i > 1 then buf[#buf + 1] = "," end
        enc(x)
      end
      buf[#buf + 1] = "]"
    else
      error("cannot encode " .. t .. " as JSON")
    end
  end
  enc(node)
  return table.concat(buf)
end

local YAML_WORDS = { ["true"] = 1, ["false"] = 1, ["null"] = 1, ["yes"] = 1, ["no"] = 1, ["on"] = 1,
                     ["off"] = 1, ["y"] = 1, ["n"] = 1, ["~"] = 1 }

-- YAML scalar text: plain when unambiguous, otherwise a double-quoted (JSON-compatible) string.
function M.yaml_scalar(v)
  if v == load.null then return "null" end
  if type(v) == "boolean" then return v and "true" or "false" end
  if type(v) == "number" then return M.number(v) end
  local s = tostring(v)
  if s:match("^[A-Za-z_/][A-Za-z0-9_./%-]*$") and not YAML_WORDS[s:lower()] then return s end
  return M.json_string(s)
end

-- C string literal lines for `s`: each line is `"..."` of at most `width` characters, split
-- only between escape units. Bytes outside printable ASCII become 3-digit octal escapes.
function M.c_literal_lines(s, width)
  width = width or 4000
  local lines, cur, len = {}, {}, 2
  local prev = ""
  for i = 1, #s do
    local c = s:sub(i, i)
    local b = c:byte()
    local e
    if c == '"' then e = '\\"'
    elseif c == "\\" then e = "\\\\"
    elseif c == "\n" then e = "\\n"
    elseif c == "?" and prev == "?" then e = "\\?"
    elseif b < 32 or b > 126 then e = string.format("\\%03o", b)
    else e = c end
    if len + #e > width then
      lines[#lines + 1] = '"' .. table.concat(cur) .. '"'
      cur, len = {}, 2
    end
    cur[#cur + 1] = e
    len = len + #e
    prev = c
  end
  if #cur > 0 or #lines == 0 then lines[#lines + 1] = '"' .. table.concat(cur) .. '"' end
  return lines
end

-- A C translation unit defining `const char NAME[]` and `const size_t NAME_len` for `s`.
function M.c_asset(header_line, what, name, s)
  local out = { header_line, "/* " .. what .. " */", '#include "assets.h"', "",
                "const char " .. name .. "[] =" }
  local lines = M.c_literal_lines(s, 3990)
  for i, l in ipairs(lines) do out[#out + 1] = "    " .. l .. (i == #lines and ";" or "") end
  out[#out + 1] = "const size_t " .. name .. "_len = sizeof(" .. name .. ") - 1;"
  return table.concat(out, "\n") .. "\n"
end

function M.html(s)
  return (tostring(s):gsub("[&<>\"]", { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;" }))
end

-- Markdown table cell: no pipes or newlines.
function M.md(s)
  return (tostring(s):gsub("|", "\\|"):gsub("\n", " "))
end

return M
