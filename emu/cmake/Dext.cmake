# fpgadext_add_dext(<name> BUNDLE_ID <id> PLIST <Info.plist> IIG <.iig files> SOURCES <files>)
#
# Builds a dext for the emulated machine as a bundle directory, ${CMAKE_BINARY_DIR}/dexts/
# <name>.dext, holding the executable (a loadable module) and the Info.plist with Xcode's
# build settings filled in, which is what Machine::LoadDext reads. The dext's code is compiled
# with the dext-safe flags (no exceptions, no RTTI). The bundle path is the target property
# FPGADEXT_BUNDLE.
function(fpgadext_add_dext name)
  cmake_parse_arguments(DEXT "" "BUNDLE_ID;PLIST" "IIG;SOURCES" ${ARGN})
  set(bundle ${CMAKE_BINARY_DIR}/dexts/${name}.dext)
  add_library(${name} MODULE ${DEXT_SOURCES})
  fpgadext_iig(${name} ${DEXT_IIG})
  target_link_libraries(${name} PRIVATE fpgadext_driverkit fpgadext_dext_flags)
  set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${bundle} PREFIX "" SUFFIX ""
                                           FPGADEXT_BUNDLE ${bundle})
  file(READ ${DEXT_PLIST} content)
  string(REPLACE "$(PRODUCT_BUNDLE_IDENTIFIER)" "${DEXT_BUNDLE_ID}" content "${content}")
  string(REPLACE "$(EXECUTABLE_NAME)" "${name}" content "${content}")
  string(REPLACE "$(PRODUCT_NAME)" "${name}" content "${content}")
  file(GENERATE OUTPUT ${bundle}/Info.plist CONTENT "${content}")
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${DEXT_PLIST})
endfunction()
