# fpgadext_iig(<target> <file.iig>... [DEFINES NAME[=VALUE]...])
#
# Runs emu/iig/iig.py (the emulation's iig: the project's classes are declared in .iig files as
# on macOS) on each .iig file and adds the
# result to <target>:
#   ${CMAKE_CURRENT_BINARY_DIR}/iig/<Name>.h        the header the dext's sources include
#   ${CMAKE_CURRENT_BINARY_DIR}/iig/<Name>.iig.cpp  metaclass, _Dispatch, wrappers, CreateAction…
# The .iig.cpp files become sources of <target>; the output directory and the directories of the
# .iig files (for their `#include "…"` lines) become PUBLIC include directories, so whatever links
# <target> can include the generated headers. A header is regenerated when its .iig, a .iig it
# includes, or iig.py (or its modules) changes. List each .iig in one target only. DEFINES are
# macros for the #if lines iig decides at generation time (iig.py -D; __IIG is always 1).
#
#   add_library(fpgadext_dext STATIC FpgaDriver.cpp FpgaUserClient.cpp)
#   target_link_libraries(fpgadext_dext PUBLIC fpgadext_driverkit)
#   fpgadext_iig(fpgadext_dext FpgaDriver.iig FpgaUserClient.iig)

set(FPGADEXT_IIG_SCRIPT "${CMAKE_CURRENT_LIST_DIR}/iig.py" CACHE INTERNAL "emu/iig/iig.py")
set(FPGADEXT_IIG_MODULES "${CMAKE_CURRENT_LIST_DIR}/iig_lex.py"
    "${CMAKE_CURRENT_LIST_DIR}/iig_parse.py" "${CMAKE_CURRENT_LIST_DIR}/iig_pp.py"
    CACHE INTERNAL "emu/iig/iig.py's modules")
set(FPGADEXT_IIG_COMPAT "${CMAKE_CURRENT_LIST_DIR}/compat" CACHE INTERNAL "Mac SDK stand-ins")
set(FPGADEXT_IIG_EMU_INCLUDE "${CMAKE_CURRENT_LIST_DIR}/../include" CACHE INTERNAL "emu/include")

function(fpgadext_iig target)
  if(NOT TARGET ${target})
    message(FATAL_ERROR "fpgadext_iig: '${target}' is not a target")
  endif()
  cmake_parse_arguments(PARSE_ARGV 1 IIG "" "" "DEFINES")
  set(defines "")
  foreach(define IN LISTS IIG_DEFINES)
    list(APPEND defines "-D${define}")
  endforeach()
  set(outdir "${CMAKE_CURRENT_BINARY_DIR}/iig")
  set(srcdirs "")
  foreach(file IN LISTS IIG_UNPARSED_ARGUMENTS)
    get_filename_component(abs "${file}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    get_filename_component(name "${abs}" NAME_WLE)
    get_filename_component(dir "${abs}" DIRECTORY)
    if(NOT abs MATCHES "\\.iig$")
      message(FATAL_ERROR "fpgadext_iig: '${file}' is not a .iig file")
    endif()
    list(APPEND srcdirs "${dir}")
    add_custom_command(
      OUTPUT "${outdir}/${name}.h" "${outdir}/${name}.iig.cpp"
      COMMAND "${Python3_EXECUTABLE}" -B "${FPGADEXT_IIG_SCRIPT}"
              --input "${abs}" --header "${outdir}/${name}.h"
              --impl "${outdir}/${name}.iig.cpp" --depfile "${outdir}/${name}.iig.d"
              -I "${dir}" ${defines}
      DEPENDS "${abs}" "${FPGADEXT_IIG_SCRIPT}" ${FPGADEXT_IIG_MODULES}
      DEPFILE "${outdir}/${name}.iig.d"
      COMMENT "iig ${name}.iig"
      VERBATIM)
    target_sources(${target} PRIVATE "${outdir}/${name}.iig.cpp" "${outdir}/${name}.h")
  endforeach()
  list(REMOVE_DUPLICATES srcdirs)
  target_include_directories(${target} PUBLIC "${outdir}" ${srcdirs})
  # Mac SDK headers .iig files include, until emu/include provides them.
  if(NOT EXISTS "${FPGADEXT_IIG_EMU_INCLUDE}/Availability.h"
     OR NOT EXISTS "${FPGADEXT_IIG_EMU_INCLUDE}/TargetConditionals.h")
    target_include_directories(${target} PUBLIC "${FPGADEXT_IIG_COMPAT}")
  endif()
endfunction()
