// The library reports the project version the build was configured with (CMake's
// project(VERSION), passed in as FPGADEXT_EXPECTED_VERSION), through C++ and C alike.
#include <fpgadext/fpgadext.h>
#include <gtest/gtest.h>
#include <fpgadext/fpgadext.hpp>

#include <string>

TEST(Version, LibraryReportsTheProjectVersion) {
  EXPECT_EQ(std::string(fpgadext::Version()), FPGADEXT_EXPECTED_VERSION);
}

TEST(Version, CApiReportsTheSameVersion) {
  EXPECT_EQ(std::string(fpgadext_version()), FPGADEXT_EXPECTED_VERSION);
}
