// macOS: the dext is installed and drives the real boards; there is nothing to set up.
// The emulation options (--board, --card-file, --card-size) have no effect here.
#include "host.h"

namespace fpgadext::cli {
namespace {

class NativeHost : public Host {
 public:
  HostDescription Describe() const override {
    HostDescription d;
    d.kind = "native";
    return d;
  }
};

}  // namespace

Status StartHost(const HostOptions& options, std::unique_ptr<Host>* host) {
  *host = std::make_unique<NativeHost>();
  return Status::Ok();
}

}  // namespace fpgadext::cli
