# The darwin check's CMake side (docs/macos.md): registers tests that compile a source for a Mac
# target with tests/darwin/darwin_check.py. Included by tests/darwin, tests/macstyle and
# examples/porting, which check their own dexts the same way.
include_guard(DIRECTORY)

set(FPGADEXT_DARWIN_LIBCXX "/usr/lib/llvm-19/include/c++/v1" CACHE PATH
    "libc++ headers for the darwin check (Debian's libc++-19-dev)")
find_program(FPGADEXT_DARWIN_CLANG NAMES clang++-19 REQUIRED)
set(darwin_script ${PROJECT_SOURCE_DIR}/tests/darwin/darwin_check.py)
set(darwin_sdk ${PROJECT_SOURCE_DIR}/emu/driverkit-sdk)
set(darwin_emulated ${PROJECT_SOURCE_DIR}/emu/include)
# Linux stand-ins for SDK headers (emu/iig/compat) are left out: the SDK directory has its own.
set(darwin_drop "${FPGADEXT_IIG_COMPAT}")

# The deployment targets Xcode builds for (macos/config/*.xcconfig), so the two cannot drift.
function(darwin_deployment_target xcconfig key out)
  file(STRINGS ${PROJECT_SOURCE_DIR}/macos/config/${xcconfig} line REGEX "^${key} *=")
  string(REGEX REPLACE "^${key} *= *([0-9.]+).*" "\\1" version "${line}")
  if(NOT version MATCHES "^[0-9]+\\.[0-9]+$")
    message(FATAL_ERROR "darwin check: no ${key} in macos/config/${xcconfig}")
  endif()
  set(${out} ${version} PARENT_SCOPE)
endfunction()
darwin_deployment_target(FpgaDext.xcconfig DRIVERKIT_DEPLOYMENT_TARGET driverkit_version)
darwin_deployment_target(Shared.xcconfig MACOSX_DEPLOYMENT_TARGET macos_version)

# darwin_check(<test name> <triple> <source> [INCLUDES_OF <target>] [ARGS <extra args>...])
function(darwin_check name triple source)
  cmake_parse_arguments(DC "" "INCLUDES_OF" "ARGS" ${ARGN})
  set(includes "")
  if(DC_INCLUDES_OF)
    set(includes "$<JOIN:$<TARGET_PROPERTY:${DC_INCLUDES_OF},INCLUDE_DIRECTORIES>,|>")
  endif()
  add_test(NAME ${name}
           COMMAND ${Python3_EXECUTABLE} -B ${darwin_script}
                   --clang ${FPGADEXT_DARWIN_CLANG} --target ${triple}
                   --sdk ${darwin_sdk} --libcxx ${FPGADEXT_DARWIN_LIBCXX}
                   --emulated-sdk ${darwin_emulated}
                   --include-dirs "${includes}" --drop-dirs "${darwin_drop}"
                   ${DC_ARGS} ${source})
  set_tests_properties(${name} PROPERTIES LABELS darwin)
endfunction()

# A dext source compiled for both Mac CPUs with the include directories of <target>: tests
# <prefix>arm64.<shown> and <prefix>x86_64.<shown>, labelled <labels> (default darwin). The
# include order does not depend on the CPU: it is checked once, with the arm64 compile.
function(darwin_check_dext_source prefix shown path target)
  cmake_parse_arguments(DC "" "" "LABELS" ${ARGN})
  if(NOT DC_LABELS)
    set(DC_LABELS darwin)
  endif()
  darwin_check(${prefix}arm64.${shown} arm64-apple-driverkit${driverkit_version} ${path}
               INCLUDES_OF ${target} ARGS --check-new-order)
  darwin_check(${prefix}x86_64.${shown} x86_64-apple-driverkit${driverkit_version} ${path}
               INCLUDES_OF ${target})
  set_tests_properties(${prefix}arm64.${shown} ${prefix}x86_64.${shown}
                       PROPERTIES LABELS "${DC_LABELS}")
endfunction()
