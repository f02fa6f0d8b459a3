# Test registration: every tests/unit/**/test_*.c and generated/parity/test_*.c is one cmocka
# executable; tests/conformance/test_*.c are black-box tests handed the server binary; the
# codegen golden tests, the drift check, the JS SDK harness and the fuzz smoke are commands.
if(NOT CMOCKA_FOUND)
  message(FATAL_ERROR "cmocka not found: run scripts/deps.sh test")
endif()

file(GLOB_RECURSE _unit CONFIGURE_DEPENDS ${LG_ROOT}/tests/unit/test_*.c ${LG_ROOT}/generated/parity/test_*.c)
foreach(f IN LISTS _unit)
  file(RELATIVE_PATH _rel ${LG_ROOT} ${f})
  string(REGEX REPLACE "[/.]" "_" _name ${_rel})
  string(REGEX REPLACE "_c$" "" _name ${_name})
  add_executable(${_name} ${f})
  target_include_directories(${_name} PRIVATE ${RT} ${GEN} ${LG_ROOT}/tests/unit)
  target_link_libraries(${_name} PRIVATE lgcore PkgConfig::CMOCKA)
  add_test(NAME ${_name} COMMAND ${_name} WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
  set_tests_properties(${_name} PROPERTIES TIMEOUT 120 ENVIRONMENT "CMOCKA_MESSAGE_OUTPUT=stdout")
endforeach()

file(GLOB _conf CONFIGURE_DEPENDS ${LG_ROOT}/tests/conformance/test_*.c)
if(_conf)
  add_library(lg_conformance_harness OBJECT ${LG_ROOT}/tests/conformance/harness.c)
  target_link_libraries(lg_conformance_harness PRIVATE PkgConfig::CURL PkgConfig::JANSSON PkgConfig::CMOCKA
                        OpenSSL::Crypto)
  foreach(f IN LISTS _conf)
    get_filename_component(_n ${f} NAME_WE)
    set(_name conformance_${_n})
    add_executable(${_name} ${f} $<TARGET_OBJECTS:lg_conformance_harness>)
    target_include_directories(${_name} PRIVATE ${LG_ROOT}/tests/conformance)
    # OpenSSL and threads: the auth tests mint tokens and run a mock auth server in-process.
    target_link_libraries(${_name} PRIVATE PkgConfig::CMOCKA PkgConfig::CURL PkgConfig::JANSSON OpenSSL::Crypto
                          Threads::Threads)
    add_test(NAME ${_name} COMMAND ${_name} $<TARGET_FILE:lgserve>)
    set_tests_properties(${_name} PROPERTIES TIMEOUT 300 ENVIRONMENT "CMOCKA_MESSAGE_OUTPUT=stdout")
  endforeach()
endif()

if(EXISTS ${LG_ROOT}/codegen/tests/run.lua)
  add_test(NAME codegen_golden COMMAND lua5.4 ${LG_ROOT}/codegen/tests/run.lua
           WORKING_DIRECTORY ${LG_ROOT})
endif()
add_test(NAME generated_drift COMMAND ${LG_ROOT}/scripts/check-generated.sh
         WORKING_DIRECTORY ${LG_ROOT})

if(EXISTS ${LG_ROOT}/tests/conformance/sdk/package.json)
  add_test(NAME sdk_js COMMAND node --test --test-reporter=spec
           ${LG_ROOT}/tests/conformance/sdk/
           WORKING_DIRECTORY ${LG_ROOT}/tests/conformance/sdk)
  set_tests_properties(sdk_js PROPERTIES TIMEOUT 600
    ENVIRONMENT "LGSERVE_BIN=$<TARGET_FILE:lgserve>")
endif()

# Fuzz smoke: every tests/fuzz/fuzz_*.c built with libFuzzer + ASan/UBSan and run FUZZ_TIME
# seconds on its corpus (the fuzzers run in parallel). Needs clang with its fuzzer runtime.
find_program(LG_CLANG clang)
if(LG_CLANG)
  add_test(NAME fuzz_smoke COMMAND ${LG_ROOT}/scripts/fuzz-smoke.sh WORKING_DIRECTORY ${LG_ROOT})
  set_tests_properties(fuzz_smoke PROPERTIES TIMEOUT 300
    ENVIRONMENT "FUZZ_TIME=15;CLANG=${LG_CLANG};FUZZ_BUILD_DIR=${CMAKE_BINARY_DIR}/fuzz-lgcore")
endif()

# The LLM client's live tests talk to the mock OpenAI-compatible server (bench/mock_llm). bench/
# is added after this file, so the check runs deferred, at the end of the top directory.
function(lg_llm_test_env)
  if(TARGET mock_llm AND TEST tests_unit_llm_test_llm)
    set_property(TEST tests_unit_llm_test_llm APPEND PROPERTY ENVIRONMENT
                 "LGSERVE_MOCK_LLM=$<TARGET_FILE:mock_llm>")
  endif()
  if(TARGET mock_llm AND TEST tests_unit_graph_test_agent)
    set_property(TEST tests_unit_graph_test_agent APPEND PROPERTY ENVIRONMENT
                 "LGSERVE_MOCK_LLM=$<TARGET_FILE:mock_llm>")
  endif()
endfunction()
cmake_language(DEFER CALL lg_llm_test_env)

# The runs tests (C conformance and the JS SDK suite) drive the agent graph against the mock
# LLM; deferred like the block above, since bench/ is added after this file.
function(lg_runs_test_env)
  foreach(_t conformance_test_runs conformance_test_stress_streams conformance_test_ownership
           conformance_test_ownership_matrix sdk_js)
    if(TARGET mock_llm AND TEST ${_t})
      set_property(TEST ${_t} APPEND PROPERTY ENVIRONMENT "LGSERVE_MOCK_LLM=$<TARGET_FILE:mock_llm>")
    endif()
  endforeach()
endfunction()
cmake_language(DEFER CALL lg_runs_test_env)
