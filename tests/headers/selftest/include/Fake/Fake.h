// A fake framework header for the checker's own tests: one of each kind of declaration the
// checker collects or ignores.
#ifndef FAKE_FAKE_H
#define FAKE_FAKE_H

#include <Fake/Other.h>

#define kFakeMacro 1
#define FakeFunctionMacro(x) ((x) + 1)

typedef unsigned int FakeType;
using FakeAlias = int;

enum { kFakeAnonymous = 1 };
enum FakeEnum { kFakeFirst, kFakeSecond };
enum class FakeScoped { kNotCollected };

typedef struct {
  int field;
} FakeTypedefStruct;

class FakeForward;

class FakeClass : public OtherClass {
 public:
  FakeClass();
  virtual ~FakeClass();
  int Method();
  int Method(int overload);
  static int sCount;
  enum { kFakeMember = 2 };
  struct Nested {
    int value;
  };
  virtual int Start_Impl();  // iig plumbing: ignored
  static void* gMetaClass;   // ignored

 protected:
  int Protected();

 private:
  int Private();
  int privateField;
};

struct FakeStruct {
  unsigned long long address;
  unsigned long long length;
};

extern "C" int FakeFunction(int);
extern int gFakeVariable;

namespace FakeSpace {
int Inside();
}

namespace fpgadext {
int NotCollected();
}

int FakeEmulationHook();  // contains "emulat": ignored
int __fake_reserved();    // starts with "__": ignored
struct FakeClass_Start_Args {
  int a;
};  // ends with _Args: ignored

#endif
