// Compiles as C++ only (a C++ keyword as a type): fails the C check of C headers.
#pragma once

constexpr int kCppOnly = 1;
