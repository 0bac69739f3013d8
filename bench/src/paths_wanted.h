// Whether a run measures a path: Options::paths names the rows wanted, empty = every row. One
// definition for every file of the suite that adds rows (bench.cpp and the row files beside it).
#pragma once

#include <fpgadext/bench.hpp>

#include <algorithm>
#include <string>

namespace fpgadext::bench {

inline bool Wanted(const Options& o, const std::string& path) {
  return o.paths.empty() || std::find(o.paths.begin(), o.paths.end(), path) != o.paths.end();
}

}  // namespace fpgadext::bench
