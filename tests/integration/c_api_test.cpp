// The C API over the same board: the read/write shape of a kext-era app, errors as IOReturn values
// with a message per device, and the open error kept per thread.
#include <fpgadext/fpgadext.h>
#include <reference_design/user_block_registers.h>

#include <cstring>
#include <string>

#include "board_fixture.h"

namespace fpgadext::integration {
namespace {

class CApi : public BoardFixture {};

TEST_F(CApi, ReadWriteRegistersErrors) {
  EXPECT_EQ(fpgadext_count(), 1u);
  fpgadext_device* dev = nullptr;
  ASSERT_EQ(fpgadext_open(0, &dev), 0) << fpgadext_last_error(nullptr);
  ASSERT_NE(dev, nullptr);
  EXPECT_EQ(fpgadext_card_memory_size(dev), kCardMemory);
  EXPECT_EQ(fpgadext_user_bar(dev), xdma().userBarIndex());

  for (size_t size : {size_t{0}, size_t{3}, size_t{4096}, size_t{4097}, size_t{200001}}) {
    std::vector<std::byte> out(size + 1), in(size + 1);
    FillPattern(out.data() + 1, size, size);
    ASSERT_EQ(fpgadext_write(dev, 0x4001, size, out.data() + 1), 0) << fpgadext_last_error(dev);
    ASSERT_EQ(fpgadext_read(dev, 0x4001, size, in.data() + 1), 0) << fpgadext_last_error(dev);
    EXPECT_EQ(CheckPattern(in.data() + 1, size, size), size);
  }
  uint32_t id = 0;
  namespace reg = reference_design::user_reg;
  ASSERT_EQ(fpgadext_reg_read32(dev, fpgadext_user_bar(dev), reg::kId, &id), 0);
  EXPECT_EQ(id, reference_design::kUserBlockId);
  ASSERT_EQ(fpgadext_reg_write32(dev, fpgadext_user_bar(dev), reg::Scratch(0), 77), 0);
  ASSERT_EQ(fpgadext_reg_read32(dev, fpgadext_user_bar(dev), reg::Scratch(0), &id), 0);
  EXPECT_EQ(id, 77u);
  EXPECT_STREQ(fpgadext_last_error(dev), "");

  char byte = 0;
  const int ret = fpgadext_read(dev, kCardMemory, 1, &byte);
  EXPECT_EQ(ret, kIOReturnBadArgument);
  EXPECT_STREQ(fpgadext_error_name(ret), "kIOReturnBadArgument");
  EXPECT_NE(std::strstr(fpgadext_last_error(dev), "is outside the card's"), nullptr);
  EXPECT_EQ(fpgadext_reg_read32(dev, xdma().dmaBarIndex(), 0, &id), kIOReturnNotPermitted);
  // A good call clears the message.
  ASSERT_EQ(fpgadext_read(dev, 0, 1, &byte), 0);
  EXPECT_STREQ(fpgadext_last_error(dev), "");
  fpgadext_close(dev);

  fpgadext_device* none = nullptr;
  EXPECT_EQ(fpgadext_open(5, &none), kIOReturnNotFound);
  EXPECT_EQ(none, nullptr);
  EXPECT_NE(std::string(fpgadext_last_error(nullptr)).find("no board 5"), std::string::npos);
  EXPECT_EQ(fpgadext_read(nullptr, 0, 1, &byte), kIOReturnBadArgument);
  fpgadext_close(nullptr);
}

}  // namespace
}  // namespace fpgadext::integration
