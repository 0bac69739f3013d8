# fpgadext_add_dext(<name> BUNDLE_ID <id> PLIST <Info.plist> IIG <.iig files> SOURCES <files>
#                   [ENTITLEMENTS <file.entitlements>]
#                   [VERSION <short version>] [BUILD <build number>] [SETTINGS NAME=VALUE...])
#
# Builds a dext for the emulated machine as a bundle directory, ${CMAKE_BINARY_DIR}/dexts/
# <name>.dext, holding the executable <name> (a loadable module) and the Info.plist, which is
# what Machine::LoadDext reads. The bundle path is the target property FPGADEXT_BUNDLE.
#
# The Info.plist may be the one written for Xcode: the build settings Xcode's templates use are
# substituted ($(EXECUTABLE_NAME) and $(PRODUCT_NAME) = <name>, $(PRODUCT_BUNDLE_IDENTIFIER) =
# BUNDLE_ID, $(PRODUCT_BUNDLE_PACKAGE_TYPE) = DEXT, $(DEVELOPMENT_LANGUAGE) = en,
# $(MARKETING_VERSION) = VERSION, $(CURRENT_PROJECT_VERSION) = BUILD, plus SETTINGS), and the keys
# Xcode adds when the file leaves them out are filled: CFBundleExecutable, CFBundleIdentifier,
# CFBundleName, CFBundlePackageType (emu/cmake/dext_plist.py).
#
# ENTITLEMENTS is the dext's entitlements file, the one Xcode signs into the dext on a Mac
# (CODE_SIGN_ENTITLEMENTS). It becomes <name>.dext/Entitlements.plist (build settings
# substituted as in the Info.plist), which stands for the code signature here: the emulated
# kernel reads it to decide which apps may open the dext's user clients
# (docs/emulation-user-client.md). Without it the dext has no entitlements, and only apps
# entitled with com.apple.developer.driverkit.userclient-access for BUNDLE_ID may open it.
#
# Works from any project that adds fpgadext (add_subdirectory): the function sets what the dext
# needs on its own target (blocks, the dext-safe flags: no exceptions, no RTTI) and finds Python
# for iig and the plist itself.
# The emulated headers use blocks (dispatch_block_t, IODispatchQueue::DispatchAsync), which clang
# enables by default for Apple targets only: whatever compiles against them gets -fblocks.
if(TARGET fpgadext_driverkit)
  target_compile_options(fpgadext_driverkit INTERFACE -fblocks)
endif()

set(FPGADEXT_DEXT_PLIST_SCRIPT "${CMAKE_CURRENT_LIST_DIR}/dext_plist.py" CACHE INTERNAL
    "emu/cmake/dext_plist.py")

function(fpgadext_add_dext name)
  cmake_parse_arguments(DEXT "" "BUNDLE_ID;PLIST;ENTITLEMENTS;VERSION;BUILD" "IIG;SOURCES;SETTINGS"
                        ${ARGN})
  if(NOT DEXT_BUNDLE_ID OR NOT DEXT_PLIST)
    message(FATAL_ERROR "fpgadext_add_dext(${name}): BUNDLE_ID and PLIST are required")
  endif()
  if(NOT DEXT_VERSION)
    set(DEXT_VERSION 1.0)
  endif()
  if(NOT DEXT_BUILD)
    set(DEXT_BUILD 1)
  endif()
  # fpgadext_iig and the plist step run Python; the calling project need not have looked for it.
  if(NOT Python3_EXECUTABLE)
    find_package(Python3 REQUIRED COMPONENTS Interpreter)
  endif()
  get_filename_component(plist "${DEXT_PLIST}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")

  set(bundle ${CMAKE_BINARY_DIR}/dexts/${name}.dext)
  add_library(${name} MODULE ${DEXT_SOURCES})
  fpgadext_iig(${name} ${DEXT_IIG})
  target_link_libraries(${name} PRIVATE fpgadext_driverkit fpgadext_dext_flags)
  # DriverKit code uses blocks (IODispatchQueue::DispatchAsync): on the target itself, not
  # inherited from fpgadext's own add_compile_options.
  target_compile_options(${name} PRIVATE -fblocks)
  set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${bundle} PREFIX "" SUFFIX ""
                                           FPGADEXT_BUNDLE ${bundle})

  add_custom_command(
    OUTPUT ${bundle}/Info.plist
    COMMAND "${Python3_EXECUTABLE}" -B "${FPGADEXT_DEXT_PLIST_SCRIPT}"
            --input "${plist}" --output "${bundle}/Info.plist"
            "EXECUTABLE_NAME=${name}" "PRODUCT_NAME=${name}" "TARGET_NAME=${name}"
            "PRODUCT_BUNDLE_IDENTIFIER=${DEXT_BUNDLE_ID}" "PRODUCT_BUNDLE_PACKAGE_TYPE=DEXT"
            "DEVELOPMENT_LANGUAGE=en" "MARKETING_VERSION=${DEXT_VERSION}"
            "CURRENT_PROJECT_VERSION=${DEXT_BUILD}" ${DEXT_SETTINGS}
    DEPENDS "${plist}" "${FPGADEXT_DEXT_PLIST_SCRIPT}"
    COMMENT "Info.plist of ${name}.dext"
    VERBATIM)
  target_sources(${name} PRIVATE ${bundle}/Info.plist)

  if(DEXT_ENTITLEMENTS)
    get_filename_component(entitlements "${DEXT_ENTITLEMENTS}" ABSOLUTE
                           BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    add_custom_command(
      OUTPUT ${bundle}/Entitlements.plist
      COMMAND "${Python3_EXECUTABLE}" -B "${FPGADEXT_DEXT_PLIST_SCRIPT}" --entitlements
              --input "${entitlements}" --output "${bundle}/Entitlements.plist"
              "EXECUTABLE_NAME=${name}" "PRODUCT_NAME=${name}" "TARGET_NAME=${name}"
              "PRODUCT_BUNDLE_IDENTIFIER=${DEXT_BUNDLE_ID}" ${DEXT_SETTINGS}
      DEPENDS "${entitlements}" "${FPGADEXT_DEXT_PLIST_SCRIPT}"
      COMMENT "Entitlements of ${name}.dext"
      VERBATIM)
    target_sources(${name} PRIVATE ${bundle}/Entitlements.plist)
  else()
    # A stale file from an earlier configuration would keep granting what was removed.
    file(REMOVE ${bundle}/Entitlements.plist)
  endif()
endfunction()
