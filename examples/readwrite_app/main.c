/* A kext-era read/write application, ported: it keeps its fpgaRead/fpgaWrite wrappers
 * (read(dev, card_addr, size, buf) / write(...)) and now calls the fpgadext C API under them.
 * The sizes that break a naive DriverKit port (outputs of <= 4096 bytes arrive with both output
 * fields NULL; docs/porting-from-iokit.md) work here, as do large, unaligned buffers: the
 * library picks the path.
 *
 * Nothing in this file is specific to the emulated machine. */
#include <fpgadext/fpgadext.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef fpgadext_device* FpgaHandle;

static int fpgaOpen(FpgaHandle* dev) {
  int ret = fpgadext_open(0, dev);
  if (ret != 0) fprintf(stderr, "fpgaOpen: %s\n", fpgadext_last_error(NULL));
  return ret;
}

static void fpgaClose(FpgaHandle dev) {
  fpgadext_close(dev);
}

static int fpgaRead(FpgaHandle dev, uint64_t addr, size_t size, void* buf) {
  int ret = fpgadext_read(dev, addr, size, buf);
  if (ret != 0) {
    fprintf(stderr, "fpgaRead(0x%llx, %zu): %s\n", (unsigned long long)addr, size,
            fpgadext_last_error(dev));
  }
  return ret;
}

static int fpgaWrite(FpgaHandle dev, uint64_t addr, size_t size, const void* buf) {
  int ret = fpgadext_write(dev, addr, size, buf);
  if (ret != 0) {
    fprintf(stderr, "fpgaWrite(0x%llx, %zu): %s\n", (unsigned long long)addr, size,
            fpgadext_last_error(dev));
  }
  return ret;
}

static int fpgaRegRead(FpgaHandle dev, uint32_t offset, uint32_t* value) {
  int ret = fpgadext_reg_read32(dev, fpgadext_user_bar(dev), offset, value);
  if (ret != 0) fprintf(stderr, "fpgaRegRead(0x%x): %s\n", offset, fpgadext_last_error(dev));
  return ret;
}

static int fpgaRegWrite(FpgaHandle dev, uint32_t offset, uint32_t value) {
  int ret = fpgadext_reg_write32(dev, fpgadext_user_bar(dev), offset, value);
  if (ret != 0) fprintf(stderr, "fpgaRegWrite(0x%x): %s\n", offset, fpgadext_last_error(dev));
  return ret;
}

/* ---- the application --------------------------------------------------------------------- */

static int RoundTrip(FpgaHandle dev, uint64_t addr, size_t size, unsigned seed) {
  /* +3: an unaligned app buffer, as the team's packet buffers are. */
  unsigned char* out = malloc(size + 3);
  unsigned char* in = malloc(size + 3);
  if (out == NULL || in == NULL) return -1;
  for (size_t i = 0; i < size; ++i) out[3 + i] = (unsigned char)(i * 31u + seed);
  memset(in, 0, size + 3);
  int ret = fpgaWrite(dev, addr, size, out + 3);
  if (ret == 0) ret = fpgaRead(dev, addr, size, in + 3);
  if (ret == 0 && memcmp(out + 3, in + 3, size) != 0) {
    fprintf(stderr, "%zu bytes at 0x%llx: read back differs\n", size, (unsigned long long)addr);
    ret = -1;
  }
  if (ret == 0) printf("  %8zu bytes at card 0x%08llx: ok\n", size, (unsigned long long)addr);
  free(out);
  free(in);
  return ret;
}

int main(void) {
  printf("boards: %u\n", fpgadext_count());
  FpgaHandle dev = NULL;
  if (fpgaOpen(&dev) != 0) return 1;
  printf("card memory: %llu bytes, user BAR %d\n",
         (unsigned long long)fpgadext_card_memory_size(dev), fpgadext_user_bar(dev));

  uint32_t id = 0;
  if (fpgaRegRead(dev, 0x00, &id) != 0) return 1;
  printf("user block id: 0x%08x\n", id);
  if (fpgaRegWrite(dev, 0x10, 0xC0FFEE) != 0) return 1;
  uint32_t scratch = 0;
  if (fpgaRegRead(dev, 0x10, &scratch) != 0 || scratch != 0xC0FFEE) return 1;

  /* The team's message sizes: status words, one page, just over a page, a frame. */
  static const size_t kSizes[] = {1, 3, 64, 4095, 4096, 4097, 65536, (1u << 20) + 7};
  unsigned seed = 1;
  uint64_t addr = 0x1003;
  for (size_t i = 0; i < sizeof(kSizes) / sizeof(kSizes[0]); ++i) {
    if (RoundTrip(dev, addr, kSizes[i], seed++) != 0) return 1;
    addr += kSizes[i] + 0x1001;
  }

  /* Errors come back as IOReturn values with a message. */
  unsigned char byte = 0;
  int ret = fpgadext_read(dev, fpgadext_card_memory_size(dev), 1, &byte);
  printf("read past the card: %s: %s\n", fpgadext_error_name(ret), fpgadext_last_error(dev));
  if (ret == 0) return 1;

  fpgaClose(dev);
  printf("readwrite_app: ok\n");
  return 0;
}
