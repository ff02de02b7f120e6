# Build helpers shared by every component (STYLE.md "For this project").

# Warnings for first-party code only: third-party headers come in as SYSTEM.
function(aura_set_project_warnings)
  add_compile_options(-Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                      -Wold-style-cast -Wcast-align -Wunused -Woverloaded-virtual
                      -Wnull-dereference -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough)
  if(AURA_WERROR)
    add_compile_options(-Werror)
  endif()
endfunction()

# AURA_SANITIZE: "" | address (AddressSanitizer + UndefinedBehaviorSanitizer) | thread.
function(aura_set_sanitizers kind)
  if(kind STREQUAL "")
    return()
  elseif(kind STREQUAL "address")
    set(flags -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  elseif(kind STREQUAL "thread")
    set(flags -fsanitize=thread -fno-omit-frame-pointer)
  else()
    message(FATAL_ERROR "AURA_SANITIZE must be '', 'address' or 'thread', not '${kind}'")
  endif()
  add_compile_options(${flags})
  add_link_options(${flags})
  add_compile_definitions(AURA_SANITIZER_BUILD=1)
endfunction()

# aura_cc_library(NAME <name> SRCS ... [PUBLIC_DEPS ...] [PRIVATE_DEPS ...])
# Defines aura_<name> with the alias aura::<name>; headers are included as "pkg/<name>/x.h".
function(aura_cc_library)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(aura_${ARG_NAME} STATIC ${ARG_SRCS})
  add_library(aura::${ARG_NAME} ALIAS aura_${ARG_NAME})
  target_include_directories(aura_${ARG_NAME} PUBLIC "${PROJECT_SOURCE_DIR}")
  target_link_libraries(aura_${ARG_NAME} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
endfunction()

# aura_cc_test(NAME <name> SRCS ... [DEPS ...] [LABELS ...] [TIMEOUT s] [ENVIRONMENT VAR=value...]
#              [SINGLE_THREADED] [SKIP_TSAN])
# Builds a GoogleTest binary and registers every test case with ctest. Labels let CI pick
# subsets: "unit" (default), "integration" (real binaries over loopback), "slow".
# SINGLE_THREADED: the test and the code it drives start no thread, so ThreadSanitizer has
# nothing to check there: not built in a thread-sanitizer build (scripts/test.sh's tsan stage).
# SKIP_TSAN: a long integration suite whose threads are the real binaries' (reliability, chaos,
# the simulator over HTTP, security): the same code paths as the e2e, HA and Kubernetes suites,
# only harder and longer. It runs in the address-sanitizer and plain builds, not in the
# thread-sanitizer build, where the shorter suites check the real binaries' threads (CI time),
# unless AURA_TSAN_ALL_TESTS is ON (scripts/reliability.sh with AURA_SANITIZE=thread).
# In an address-sanitizer build the test's own files are compiled without UBSan (the code under
# test keeps it): UBSan at -O0 costs +60% compile time per test file and checks test code only.
# In a thread-sanitizer build they are compiled at -O0 (TSan checks them the same; the code
# under test keeps -O1).
function(aura_cc_test)
  if(NOT AURA_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "SINGLE_THREADED;SKIP_TSAN" "NAME;TIMEOUT" "SRCS;DEPS;LABELS;ENVIRONMENT" ${ARGN})
  if(AURA_SANITIZE STREQUAL "thread" AND
     (ARG_SINGLE_THREADED OR (ARG_SKIP_TSAN AND NOT AURA_TSAN_ALL_TESTS)))
    return()
  endif()
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 120)
  endif()
  add_executable(${ARG_NAME} ${ARG_SRCS})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} GTest::gmock GTest::gtest_main Threads::Threads)
  if(AURA_SANITIZE STREQUAL "address")
    target_compile_options(${ARG_NAME} PRIVATE -fno-sanitize=undefined)
  elseif(AURA_SANITIZE STREQUAL "thread")
    target_compile_options(${ARG_NAME} PRIVATE -O0)  # the test's own files: 8.8 s, not 11.6 s
  endif()
  if(ARG_ENVIRONMENT)
    gtest_discover_tests(${ARG_NAME}
      PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT} ENVIRONMENT "${ARG_ENVIRONMENT}"
      DISCOVERY_TIMEOUT 60)
  else()
    gtest_discover_tests(${ARG_NAME}
      PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT}
      DISCOVERY_TIMEOUT 60)
  endif()
endfunction()

# aura_cpprest_sources(file...): files that call into cpprestsdk. UBSan's vptr check misfires on
# cpprestsdk's stream buffers (their type info lives in the uninstrumented shared library), so
# every set_body()/extract would abort a sanitizer build; the rest of UBSan stays on.
function(aura_cpprest_sources)
  if(AURA_SANITIZE STREQUAL "address")
    set_source_files_properties(${ARGN} DIRECTORY "${CMAKE_CURRENT_SOURCE_DIR}"
      PROPERTIES COMPILE_OPTIONS "-fno-sanitize=vptr")
  endif()
endfunction()
