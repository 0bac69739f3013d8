// Fuzz target "plist_match" (docs/reliability.md): a dext bundle whose Info.plist is the input
// (XML or binary property list), loaded by the emulated kernel (Machine::LoadDext: plist parsing,
// the bundle checks, personality matching against a board, the driver's start when one
// matches). The bundle's executable is the real FpgaDext, so a personality naming FpgaDriver
// starts it. After every input: no crash, no sanitizer report, and the kernel's decision agrees
// with the app-side matching of the same personality keys (IOServiceMatchPropertyTable on the
// board's nub, which follows IOPCIFamily's IOPCIBridge::pciMatchNub): a personality for
// FpgaDriver that matches the board starts the driver, and a started driver had one.
#include <CoreFoundation/CoreFoundation.h>
#include <IOKit/IOKitLib.h>
#include <dlfcn.h>
#include <fpgadext/emu/log_capture.h>
#include <fpgadext/emu/machine.h>
#include <plist/plist.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "models/bram/bram_model.h"

namespace {

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "plist_match fuzzer: %s\n", what);
  std::abort();
}

struct Global {
  std::unique_ptr<fpgadext::models::BramModel> board;
  std::unique_ptr<fpgadext::emu::Machine> machine;
  std::string directory;  // the temporary directory holding the bundle
  std::string bundle;
  bool checkAgreement = true;
};
Global* g = nullptr;

void RemoveBundle() {
  unlink((g->bundle + "/Info.plist").c_str());
  unlink((g->bundle + "/FpgaDext").c_str());
  rmdir(g->bundle.c_str());
  rmdir(g->directory.c_str());
}

void NewMachine() {
  g->machine.reset();  // before a new one: one machine at a time
  g->machine = std::make_unique<fpgadext::emu::Machine>();
  if (g->machine->AttachPciFunction(g->board.get(), "board") != kIOReturnSuccess) {
    Fail("the board did not attach");
  }
}

// The value of `key` in a dict: the last one when the plist repeats the key, as the kernel's
// conversion keeps it (each setObject replaces the one before).
plist_t Last(plist_t dict, const char* key) {
  plist_t found = nullptr;
  plist_dict_iter it = nullptr;
  plist_dict_new_iter(dict, &it);
  for (;;) {
    char* name = nullptr;
    plist_t value = nullptr;
    plist_dict_next_item(dict, it, &name, &value);
    if (name == nullptr) break;
    if (std::strcmp(name, key) == 0) found = value;
    std::free(name);
  }
  std::free(it);
  return found;
}

const char* String(plist_t dict, const char* key) {
  plist_t node = Last(dict, key);
  if (node == nullptr || plist_get_node_type(node) != PLIST_STRING) return nullptr;
  return plist_get_string_ptr(node, nullptr);
}

// Whether the app-side matching finds the board for this personality's PCI keys.
bool AppSideMatches(io_service_t nub, plist_t personality) {
  CFMutableDictionaryRef matching = CFDictionaryCreateMutable(
      kCFAllocatorDefault, 0, &kCFTypeDictionaryKeyCallBacks, &kCFTypeDictionaryValueCallBacks);
  for (const char* key : {"IOProviderClass", "IOPCIMatch", "IOPCIPrimaryMatch",
                          "IOPCISecondaryMatch", "IOPCIClassMatch"}) {
    if (const char* value = String(personality, key)) {
      CFStringRef k = CFStringCreateWithCString(kCFAllocatorDefault, key, kCFStringEncodingUTF8);
      CFStringRef v = CFStringCreateWithCString(kCFAllocatorDefault, value, kCFStringEncodingUTF8);
      if (k != nullptr && v != nullptr) CFDictionarySetValue(matching, k, v);
      if (k != nullptr) CFRelease(k);
      if (v != nullptr) CFRelease(v);
    }
  }
  boolean_t matches = false;
  if (IOServiceMatchPropertyTable(nub, matching, &matches) != kIOReturnSuccess) matches = false;
  CFRelease(matching);
  return matches;
}

// Whether some personality of the plist is for FpgaDriver on an IOPCIDevice and matches the
// board on the app side.
bool ExpectDriver(const uint8_t* data, size_t size) {
  plist_t root = nullptr;
  plist_from_memory(reinterpret_cast<const char*>(data), static_cast<uint32_t>(size), &root);
  if (root == nullptr) return false;
  bool expected = false;
  plist_t personalities =
      plist_get_node_type(root) == PLIST_DICT ? Last(root, "IOKitPersonalities") : nullptr;
  if (personalities != nullptr && plist_get_node_type(personalities) == PLIST_DICT) {
    io_service_t nub =
        IOServiceGetMatchingService(kIOMainPortDefault, IOServiceMatching("IOPCIDevice"));
    plist_dict_iter it = nullptr;
    plist_dict_new_iter(personalities, &it);
    for (;;) {
      char* key = nullptr;
      plist_t value = nullptr;
      plist_dict_next_item(personalities, it, &key, &value);
      if (key == nullptr) break;
      const bool replaced = Last(personalities, key) != value;  // a later one of that name wins
      std::free(key);
      if (replaced || plist_get_node_type(value) != PLIST_DICT) continue;
      const char* provider = String(value, "IOProviderClass");
      const char* userClass = String(value, "IOUserClass");
      if (provider == nullptr || std::strcmp(provider, "IOPCIDevice") != 0 ||
          userClass == nullptr || std::strcmp(userClass, "FpgaDriver") != 0) {
        continue;
      }
      if (AppSideMatches(nub, value)) expected = true;
    }
    std::free(it);
    IOObjectRelease(nub);
  }
  plist_free(root);
  return expected;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  g = new Global;
  if (std::getenv("FPGADEXT_LOG") == nullptr) fpgadext::emu::SetLogLevel("off");  // refusals
  g->checkAgreement = std::getenv("FPGADEXT_FUZZ_PLIST_NO_AGREEMENT") == nullptr;
  const std::string executable = std::string(FPGADEXT_DEXT_BUNDLE) + "/FpgaDext";
  // Held open for the whole run: each LoadDext then finds the module loaded, and a refused
  // bundle's dlclose does not unload it.
  if (dlopen(executable.c_str(), RTLD_NOW | RTLD_LOCAL) == nullptr) Fail(dlerror());
  const char* tmp = std::getenv("TMPDIR");
  std::string dir = std::string(tmp && *tmp ? tmp : "/tmp") + "/fpgadext-plist-fuzz-XXXXXX";
  if (mkdtemp(dir.data()) == nullptr) Fail("no temporary directory");
  g->directory = dir;
  g->bundle = dir + "/Fuzz.dext";
  std::atexit(RemoveBundle);
  if (mkdir(g->bundle.c_str(), 0700) != 0 ||
      symlink(executable.c_str(), (g->bundle + "/FpgaDext").c_str()) != 0) {
    Fail("cannot make the bundle");
  }
  fpgadext::models::BramModel::Config config;
  g->board = std::make_unique<fpgadext::models::BramModel>(config);
  NewMachine();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string plist = g->bundle + "/Info.plist";
  FILE* f = std::fopen(plist.c_str(), "wb");
  if (f == nullptr) Fail("cannot write Info.plist");
  if (size != 0 && std::fwrite(data, 1, size, f) != size) Fail("cannot write Info.plist");
  std::fclose(f);
  if (g->machine->LoadDext(g->bundle) != kIOReturnSuccess) {
    return 0;  // refused: nothing loaded, the machine is as before
  }
  // Read only once the kernel took the plist (libplist asserts on keys it refuses).
  const bool expected = ExpectDriver(data, size);
  io_service_t driver =
      IOServiceGetMatchingService(kIOMainPortDefault, IOServiceNameMatching("FpgaDriver"));
  const bool started = driver != IO_OBJECT_NULL;
  if (driver != IO_OBJECT_NULL) IOObjectRelease(driver);
  if (g->checkAgreement && started != expected) {
    std::fprintf(stderr, "the driver %s, the app-side matching of its personalities says %s\n",
                 started ? "started" : "did not start", expected ? "match" : "no match");
    Fail("dext matching and app-side matching disagree");
  }
  NewMachine();  // a loaded dext stays loaded: the next input starts from an empty machine
  return 0;
}
