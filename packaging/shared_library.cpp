// libfpgadext.so is the static library's objects linked whole (packaging/CMakeLists.txt);
// CMake needs a source of its own for the target: this empty one.
