-- codegen/tests/run.lua — golden tests for the generators (ctest `codegen_golden`).
--
--   lua5.4 codegen/tests/run.lua [--update] [CASE...]
--
-- Each directory under codegen/tests/cases/ is one case:
--   * <case>/reference.json: a digest case; codegen/digest.lua turns it (as version 9.9.9) into
--     a digest compared byte for byte with <case>/expected/digest.yaml.
--   * <case>/expected.err: an error case; gen.lua must fail and print exactly that text.
--   * otherwise <case>/spec/ is a tree gen.lua (--core-only) must accept; every file it writes
--     must equal <case>/expected/<same path>, with no file missing or extra, and a second run
--     must write the same bytes.
-- A case may hold a file <case>/with naming external emitters (one a line, e.g. emit_ownership)
-- that gen.lua runs too (--with).
-- --update rewrites the expectations from what the generators produce now.
-- Prints one line per failure and ends with "N passed, N failed"; exits 1 on any failure.

local here = arg[0]:match("^(.*)/[^/]*$") or "."
local codegen = here .. "/.."
local cases_dir = here .. "/cases"

local update, only = false, {}
for _, a in ipairs(arg) do
  if a == "--update" then update = true else only[a] = true end
end

local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local function read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

local function write(path, s)
  local f = assert(io.open(path, "wb"))
  assert(f:write(s))
  assert(f:close())
end

local function lines(cmd)
  local out = {}
  local p = assert(io.popen(cmd))
  for l in p:lines() do out[#out + 1] = l end
  p:close()
  return out
end

-- Runs a shell command; returns true when it exited 0.
local function run(cmd)
  local ok = os.execute(cmd)
  return ok == true
end

local function mktemp() return lines("mktemp -d")[1] end

-- Sorted relative paths of the regular files under dir.
local function tree(dir)
  local out = {}
  for _, f in ipairs(lines("cd " .. q(dir) .. " 2>/dev/null && find . -type f | sort")) do
    out[#out + 1] = f:sub(3)
  end
  return out
end

-- Compares two trees; returns a list of problems (empty when equal).
local function compare_trees(expected, actual)
  local problems = {}
  local e, a = tree(expected), tree(actual)
  local eset, aset = {}, {}
  for _, f in ipairs(e) do eset[f] = true end
  for _, f in ipairs(a) do aset[f] = true end
  for _, f in ipairs(e) do
    if not aset[f] then problems[#problems + 1] = "not written: " .. f end
  end
  for _, f in ipairs(a) do
    if not eset[f] then
      problems[#problems + 1] = "unexpected file: " .. f
    elseif read(expected .. "/" .. f) ~= read(actual .. "/" .. f) then
      local d = table.concat(lines("diff -u " .. q(expected .. "/" .. f) .. " " .. q(actual .. "/" .. f) .. " | head -12"), "\n")
      problems[#problems + 1] = "differs: " .. f .. "\n" .. d
    end
  end
  return problems
end

local function gen(case, out, errfile)
  local with = ""
  for name in (read(case .. "/with") or ""):gmatch("[%w_]+") do with = with .. " --with " .. q(name) end
  return run("lua5.4 " .. q(codegen .. "/gen.lua") .. " --root " .. q(case) .. " --out " .. q(out)
    .. " --core-only" .. with .. " 2>" .. q(errfile))
end

-- Runs one case; returns a list of problems.
local function run_case(name)
  local case = cases_dir .. "/" .. name
  local tmp = mktemp()
  local problems = {}
  if read(case .. "/reference.json") then
    run("mkdir -p " .. q(tmp .. "/out"))
    if not run("lua5.4 " .. q(codegen .. "/digest.lua") .. " " .. q(case .. "/reference.json") .. " "
        .. q(tmp .. "/out/digest.yaml") .. " 9.9.9 2>" .. q(tmp .. "/err")) then
      problems[#problems + 1] = "digest.lua failed: " .. (read(tmp .. "/err") or "")
    elseif update then
      run("rm -rf " .. q(case .. "/expected") .. " && cp -r " .. q(tmp .. "/out") .. " " .. q(case .. "/expected"))
    else
      problems = compare_trees(case .. "/expected", tmp .. "/out")
    end
  else
    local ok = gen(case, tmp .. "/out", tmp .. "/err")
    local err = read(tmp .. "/err") or ""
    local want_err = read(case .. "/expected.err")
    if update then
      run("rm -rf " .. q(case .. "/expected") .. " " .. q(case .. "/expected.err"))
      if ok then run("cp -r " .. q(tmp .. "/out") .. " " .. q(case .. "/expected"))
      else write(case .. "/expected.err", err) end
    elseif want_err then
      if ok then problems[#problems + 1] = "generator accepted the input; expected:\n" .. want_err
      elseif err ~= want_err then
        problems[#problems + 1] = "error output differs\n--- expected\n" .. want_err .. "--- actual\n" .. err
      end
      if #tree(tmp .. "/out") > 0 then problems[#problems + 1] = "files were written despite errors" end
    elseif not ok then
      problems[#problems + 1] = "generator failed:\n" .. err
    else
      problems = compare_trees(case .. "/expected", tmp .. "/out")
      gen(case, tmp .. "/again", tmp .. "/err2")
      for _, p in ipairs(compare_trees(tmp .. "/out", tmp .. "/again")) do
        problems[#problems + 1] = "not deterministic: " .. p
      end
    end
  end
  run("rm -rf " .. q(tmp))
  return problems
end

local passed, failed = 0, 0
for _, name in ipairs(lines("ls -1 " .. q(cases_dir))) do
  if next(only) == nil or only[name] then
    local problems = run_case(name)
    if #problems == 0 then
      passed = passed + 1
      print("ok   " .. name)
    else
      failed = failed + 1
      print("FAIL " .. name)
      for _, p in ipairs(problems) do print("     " .. p:gsub("\n", "\n     ")) end
    end
  end
end
print(string.format("%d passed, %d failed", passed, failed))
os.exit(failed == 0 and 0 or 1)
