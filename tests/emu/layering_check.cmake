# The emulator's layers (docs/emulation.md, "Layers"): which folder of emu/ may include which
# private header of another. Run as `cmake -DEMU=<emu dir> -P layering_check.cmake`; fails with
# every include that crosses a layer without being listed below.
#
# The runtime (the dext side) reaches the kernel through kernel/user_server.h, the app side
# through the broker's messages (kernel/broker.h). The runtime takes nothing else from the
# kernel's own headers (memory went behind user_server.h in session 22), so kRuntimeIntoKernel
# is empty and stays so: an entry listed here that no longer occurs fails too.
cmake_minimum_required(VERSION 3.25)

set(kRuntimeIntoKernel "")
# Shared helpers that are not a layer's private state: the serial queue (one thread per queue)
# serves DriverKit queues and libdispatch queues alike; the OSDictionary iteration helper serves
# the kernel's matching and the app side's CF bridge.
set(kShared
    "iokit/dispatch.cpp -> runtime/serial_queue.h"
    "kernel/registry.cpp -> iokit/os_iterate.h")
# What each layer may include from another layer's folder besides the lists above.
set(kAllowed "iokit -> kernel/broker.h" "runtime -> kernel/user_server.h")

if(NOT EMU)
  message(FATAL_ERROR "usage: cmake -DEMU=<emu dir> -P layering_check.cmake")
endif()

set(seen "")
set(bad "")
foreach(layer runtime kernel iokit)
  file(GLOB sources RELATIVE ${EMU} ${EMU}/${layer}/*.cpp ${EMU}/${layer}/*.h)
  foreach(source ${sources})
    file(STRINGS ${EMU}/${source} includes REGEX "^#include \"")
    foreach(line ${includes})
      string(REGEX REPLACE "^#include \"([^\"]+)\".*" "\\1" path "${line}")
      if(NOT path MATCHES "^\\.\\./")
        continue()  # the layer's own headers, or emu/include's
      endif()
      string(REGEX REPLACE "^\\.\\./" "" target "${path}")
      string(REGEX REPLACE "/.*" "" targetLayer "${target}")
      set(edge "${source} -> ${target}")
      if(edge IN_LIST kRuntimeIntoKernel OR edge IN_LIST kShared)
        list(APPEND seen "${edge}")
      elseif(NOT "${layer} -> ${target}" IN_LIST kAllowed AND NOT targetLayer STREQUAL layer)
        list(APPEND bad "${edge}")
      endif()
    endforeach()
  endforeach()
endforeach()

foreach(edge ${kRuntimeIntoKernel} ${kShared})
  if(NOT edge IN_LIST seen)
    list(APPEND bad "${edge} is listed but no longer occurs: take it off the list")
  endif()
endforeach()
if(bad)
  list(JOIN bad "\n  " text)
  message(FATAL_ERROR "includes across the emulator's layers (docs/emulation.md):\n  ${text}")
endif()
message(STATUS "layering: ${EMU} as docs/emulation.md describes")
