"""Unit tests of emu/iig/iig.py, the emulation's iig: each generation rule and each error."""

import io
import os
import sys
import tempfile
import textwrap
import unittest
from contextlib import redirect_stderr

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "emu",
                                "iig"))
import iig  # noqa: E402

FPGA_DRIVER = textwrap.dedent("""\
    #ifndef FpgaDriver_h
    #define FpgaDriver_h
    #include <Availability.h>
    #include <DriverKit/IOService.iig>
    #include <DriverKit/IOInterruptDispatchSource.iig>
    #include "protocol.h"

    class FpgaDriver: public IOService
    {
    public:
        virtual bool init() override;
        virtual void free() override;
        virtual kern_return_t Start(IOService * provider) override;
        virtual kern_return_t Stop(IOService * provider) override;
        virtual kern_return_t NewUserClient(uint32_t type, IOUserClient ** userClient) override;
        virtual void InterruptOccurred(OSAction * action, uint64_t count, uint64_t time) TYPE(IOInterruptDispatchSource::InterruptOccurred);
        kern_return_t DoThing(uint32_t x) LOCALONLY;
        kern_return_t Other(uint64_t a, uint64_t * b);
    };
    #endif
    """)


def gen(source, path="Test.iig", known=None):
    return iig.generate(textwrap.dedent(source), path, os.path.basename(path)[:-4] + ".h", known)


def lines(text):
    return [line.strip() for line in text.splitlines()]


class FpgaDriverExample(unittest.TestCase):
    """The example of the brief, rule by rule."""

    @classmethod
    def setUpClass(cls):
        cls.header, cls.impl = iig.generate(FPGA_DRIVER, "FpgaDriver.iig", "FpgaDriver.h")
        cls.h = lines(cls.header)
        cls.c = lines(cls.impl)

    def test_banner_and_pragma_once(self):
        self.assertTrue(self.header.startswith(
            "// Generated from FpgaDriver.iig by emu/iig/iig.py — do not edit."))
        self.assertIn("#pragma once", self.h)
        self.assertIn("#include <DriverKit/OSObject.h>", self.h)

    def test_text_outside_classes_passes_through_with_iig_includes_rewritten(self):
        for line in ("#ifndef FpgaDriver_h", "#define FpgaDriver_h", "#include <Availability.h>",
                     "#include <DriverKit/IOService.h>",
                     "#include <DriverKit/IOInterruptDispatchSource.h>",
                     '#include "protocol.h"', "#endif"):
            self.assertIn(line, self.h)
        self.assertNotIn(".iig>", self.header)
        self.assertLess(self.h.index("#include <DriverKit/IOService.h>"),
                        self.h.index("class FpgaDriver : public IOService {"))
        self.assertEqual(self.h[-1], "#endif")

    def test_args_macros(self):
        for line in ("#define FpgaDriver_Start_Args IOService * provider",
                     "#define FpgaDriver_Stop_Args IOService * provider",
                     "#define FpgaDriver_NewUserClient_Args uint32_t type, IOUserClient ** "
                     "userClient",
                     "#define FpgaDriver_InterruptOccurred_Args OSAction * action, uint64_t count, "
                     "uint64_t time",
                     "#define FpgaDriver_Other_Args uint64_t a, uint64_t * b"):
            self.assertIn(line, self.h)

    def test_no_args_macros_for_localonly_methods_and_their_overrides(self):
        # As Apple's iig output (e.g. OSObject.h has no OSObject_init_Args).
        for name in ("init", "free", "DoThing"):
            self.assertNotIn(f"FpgaDriver_{name}_Args", self.header)

    def test_class_head(self):
        i = self.h.index("class FpgaDriver : public IOService {")
        self.assertIn("struct FpgaDriver_IVars;", self.h[:i])
        self.assertIn("struct FpgaDriver_LocalIVars;", self.h[:i])
        self.assertEqual(self.h[i + 1], "OSDeclareEmulatedClass(FpgaDriver)")
        body = self.h[i:]
        self.assertIn("using super = IOService;", body)
        self.assertIn("FpgaDriver_IVars* ivars = nullptr;", body)
        self.assertIn("FpgaDriver_LocalIVars* lvars;", body)
        self.assertIn("static kern_return_t _Dispatch(OSObject* self, const IORPC rpc);", body)

    def test_local_methods_kept_as_written(self):
        self.assertIn("virtual bool init() override;", self.h)
        self.assertIn("virtual void free() override;", self.h)
        # Without the annotation: Apple's generated headers carry none.
        self.assertIn("kern_return_t DoThing(uint32_t x);", self.h)
        self.assertNotIn("DoThing_Impl", self.header + self.impl)
        self.assertNotIn("init_Impl", self.header + self.impl)

    def test_overrides_become_impl_without_redeclaring_the_wrapper(self):
        self.assertIn("kern_return_t Start_Impl(IOService * provider) override;", self.h)
        self.assertIn("kern_return_t Stop_Impl(IOService * provider) override;", self.h)
        self.assertIn("kern_return_t NewUserClient_Impl(uint32_t type, IOUserClient ** userClient)"
                      " override;", self.h)
        self.assertFalse(any(line.startswith("kern_return_t Start(") or "Start(IOService" in line
                             and "_Impl" not in line and "#define" not in line for line in self.h))

    def test_type_method(self):
        self.assertIn("virtual void InterruptOccurred_Impl(OSAction * action, uint64_t count, "
                      "uint64_t time);", self.h)
        self.assertIn("kern_return_t CreateActionInterruptOccurred(size_t referenceSize, "
                      "OSAction** action);", self.h)
        self.assertIn("#include <DriverKit/OSAction.h>", self.c)
        self.assertIn("kern_return_t FpgaDriver::CreateActionInterruptOccurred(size_t "
                      "iigReferenceSize, OSAction** iigAction) {", self.c)
        self.assertIn("this, IORPCMethodID(\"IOInterruptDispatchSource::InterruptOccurred\"),",
                      self.c)
        self.assertIn("+[](OSObject* iigTarget, OSAction * action, uint64_t count, uint64_t time) "
                      "{", self.c)
        self.assertIn("static_cast<FpgaDriver*>(iigTarget)->InterruptOccurred_Impl(action, count, "
                      "time);", self.c)  # void: no `return`
        self.assertIn("iigReferenceSize, iigAction);", self.c)
        self.assertNotIn('case IORPCMethodID("InterruptOccurred")', self.impl)

    def test_new_rpc_method(self):
        self.assertIn("kern_return_t Other(uint64_t a, uint64_t * b, OSDispatchMethod supermethod "
                      "= nullptr);", self.h)
        self.assertIn("virtual kern_return_t Other_Impl(uint64_t a, uint64_t * b);", self.h)
        i = self.c.index("kern_return_t FpgaDriver::Other(uint64_t a, uint64_t * b, "
                         "OSDispatchMethod supermethod) {")
        body = " ".join(self.c[i:i + 7])
        self.assertIn("IORPCCallSuper<std::remove_const_t<decltype(a)>, "
                      "std::remove_const_t<decltype(b)>>( this, supermethod, "
                      "IORPCMethodID(\"Other\"), a, b);", body)
        self.assertIn("return Other_Impl(a, b);", body)

    def test_impl_file(self):
        self.assertIn('#include "FpgaDriver.h"', self.c)
        self.assertIn("OSDefineMetaClass(FpgaDriver, IOService);", self.c)
        i = self.c.index("kern_return_t FpgaDriver::_Dispatch(OSObject* self, const IORPC rpc) {")
        self.assertEqual(self.c[i + 1], "switch (rpc.msgid) {")
        cases = [line for line in self.c if line.startswith("case ")]
        self.assertEqual(cases, ['case IORPCMethodID("Start"):', 'case IORPCMethodID("Stop"):',
                                 'case IORPCMethodID("NewUserClient"):',
                                 'case IORPCMethodID("Other"):'])
        self.assertIn("return IORPCInvoke(rpc, &FpgaDriver::Start_Impl, [self](auto&&... a) {",
                      self.c)
        self.assertIn("return static_cast<FpgaDriver*>(self)->FpgaDriver::Start_Impl(a...);",
                      self.c)
        self.assertIn("return IOService::_Dispatch(self, rpc);", self.c)


class Parsing(unittest.TestCase):
    def test_multi_line_declarations_comments_and_defaults(self):
        h, c = gen("""\
            class A : public OSObject {
            public:
                // a comment with { braces; } and ; semicolons
                virtual kern_return_t
                Method(uint32_t a /* first; { */,
                       uint64_t b = 7,   // default; stripped
                       const char * name = "x;{",
                       const IOAddressSegment segments[32],
                       const OSObject * const object = nullptr)
                       QUEUENAME(Default);
                /* } a closing brace in a comment */
            };
            """)
        self.assertIn("#define A_Method_Args uint32_t a, uint64_t b, const char * name, "
                      "const IOAddressSegment segments[32], const OSObject * const object", h)
        self.assertIn("  kern_return_t Method(uint32_t a, uint64_t b = 7, const char * name = "
                      "\"x;{\", const IOAddressSegment segments[32], const OSObject * const "
                      "object = nullptr, OSDispatchMethod supermethod = nullptr);", h)
        self.assertIn("  virtual kern_return_t Method_Impl(uint32_t a, uint64_t b, const char * "
                      "name, const IOAddressSegment segments[32], const OSObject * const "
                      "object);", h)
        self.assertIn("IORPCMethodID(\"Method\"), a, b, name, segments, object);", c)

    def test_annotations_before_and_after(self):
        h, c = gen("""\
            class A : public IOService {
            public:
                LOCALONLY virtual void Before(int x);
                virtual kern_return_t Kern(uint32_t x) KERNEL;
                kern_return_t Loc(uint32_t x) LOCAL;
                void Helper(OSAction * action TARGET, uint32_t x) LOCALONLY QUEUENAME(Q);
                kern_return_t Remote(OSAction * TARGET action, uint32_t x) TYPE(B::Remote);
            };
            """)
        self.assertIn("  virtual void Before(int x);", h)
        # Annotations (of methods and of parameters) are left out of the generated text.
        self.assertIn("  void Helper(OSAction * action, uint32_t x);", h)
        self.assertNotIn("A_Helper_Args", h)
        self.assertIn("#define A_Remote_Args OSAction * action, uint32_t x", h)
        self.assertIn("  kern_return_t Remote_Impl(OSAction * action, uint32_t x);", h)
        self.assertIn("  virtual kern_return_t Kern_Impl(uint32_t x);", h)
        self.assertIn("  virtual kern_return_t Loc_Impl(uint32_t x);", h)
        self.assertIn('case IORPCMethodID("Kern"):', c)
        self.assertNotIn('case IORPCMethodID("Helper"):', c)

    def test_void_rpc_method_and_no_parameters(self):
        h, c = gen("""\
            class A : public OSObject {
            public:
                void Poke(void);
            };
            """)
        self.assertIn("#define A_Poke_Args", h)
        self.assertIn("  void Poke(OSDispatchMethod supermethod = nullptr);", h)
        self.assertIn("  virtual void Poke_Impl();", h)
        self.assertIn("void A::Poke(OSDispatchMethod supermethod) {", c)
        self.assertIn("    (void)IORPCCallSuper<>(", c)
        self.assertIn("  Poke_Impl();", c)

    def test_type_method_with_result_and_array(self):
        h, c = gen("""\
            class A : public OSObject {
            public:
                kern_return_t Done(OSAction * action, const uint64_t data[16], uint32_t n)
                    TYPE(B::Done);
            };
            """)
        self.assertIn("  kern_return_t Done_Impl(OSAction * action, const uint64_t data[16], "
                      "uint32_t n);", h)
        self.assertIn("        return static_cast<A*>(iigTarget)->Done_Impl(action, data, n);", c)
        self.assertIn('IORPCMethodID("B::Done")', c)

    def test_framework_local_override_kept(self):
        h, _ = gen("""\
            class U : public IOUserClient {
            public:
                virtual kern_return_t ExternalMethod(uint64_t selector,
                    IOUserClientMethodArguments * arguments,
                    const IOUserClientMethodDispatch * dispatch, OSObject * target,
                    void * reference) override;
                virtual kern_return_t CopyClientMemoryForType(uint64_t type, uint64_t * options,
                    IOMemoryDescriptor ** memory) override;
            };
            """)
        self.assertIn("  virtual kern_return_t ExternalMethod(uint64_t selector, "
                      "IOUserClientMethodArguments * arguments, const IOUserClientMethodDispatch *"
                      " dispatch, OSObject * target, void * reference) override;", h)
        self.assertIn("  kern_return_t CopyClientMemoryForType_Impl(uint64_t type, uint64_t * "
                      "options, IOMemoryDescriptor ** memory) override;", h)

    def test_known_bases_from_included_iig(self):
        known = {"Mid": iig.KnownClass("IOService", {"Helper"}, {"Work"})}
        h, c = gen("""\
            class Leaf : public Mid {
            public:
                void Helper(int x) override;
                kern_return_t Work(uint32_t x) override;
            };
            """, known=known)
        self.assertIn("  void Helper(int x) override;", h)
        self.assertIn("  kern_return_t Work_Impl(uint32_t x) override;", h)
        self.assertIn('case IORPCMethodID("Work"):', c)

    def test_no_rpc_methods_dispatches_to_super(self):
        _, c = gen("""\
            class A : public OSObject {
            public:
                virtual bool init() override;
            };
            """)
        self.assertIn("kern_return_t A::_Dispatch(OSObject* self, const IORPC rpc) {\n"
                      "  return OSObject::_Dispatch(self, rpc);\n}", c)

    def test_pure_virtual_makes_abstract_metaclass(self):
        h, c = gen("""\
            class A : public OSObject {
            public:
                virtual kern_return_t Must(uint32_t x) = 0;
            };
            """)
        self.assertIn("  virtual kern_return_t Must_Impl(uint32_t x) = 0;", h)
        self.assertIn("OSDefineAbstractMetaClass(A, OSObject);", c)
        self.assertNotIn("case IORPCMethodID", c)

    def test_access_specifiers_preserved(self):
        h, _ = gen("""\
            class A : public OSObject {
            public:
                virtual bool init() override;
            protected:
                kern_return_t Hidden(uint32_t x);
            };
            """)
        i = h.index(" protected:")
        self.assertLess(i, h.index("Hidden_Impl"))
        self.assertLess(h.index("Hidden_Impl"), h.index(" public:\n  static kern_return_t"
                                                         " _Dispatch"))

    def test_other_top_level_declarations_pass_through(self):
        src = """\
            #include "Other.iig"
            #include "plain.h"
            class Forward;
            enum class Mode : uint32_t { kA, kB };
            struct Pair { uint32_t a; uint32_t b; };
            typedef struct { int x; } Anon;
            template <class T> inline T Twice(T v) { return v + v; }
            // class NotAClass : public X { in a comment
            class A final : public OSObject {
            public:
                virtual bool init() override;
            };
            const char* kName = "class B : public C {";
            """
        h, c = gen(src)
        for text in ('#include "Other.h"', '#include "plain.h"', "class Forward;",
                     "enum class Mode : uint32_t { kA, kB };",
                     "struct Pair { uint32_t a; uint32_t b; };",
                     "template <class T> inline T Twice(T v) { return v + v; }",
                     "// class NotAClass : public X { in a comment",
                     'const char* kName = "class B : public C {";'):
            self.assertIn(text, h)
        self.assertEqual(c.count("OSDefineMetaClass("), 1)

    def test_two_classes_in_one_file(self):
        h, c = gen("""\
            class A : public OSObject {
            public:
                kern_return_t One(uint32_t x);
            };
            class B : public A {
            public:
                kern_return_t One(uint32_t x) override;
            };
            """)
        self.assertIn("OSDefineMetaClass(A, OSObject);", c)
        self.assertIn("OSDefineMetaClass(B, A);", c)
        self.assertIn("  kern_return_t One_Impl(uint32_t x) override;", h)
        self.assertIn("      return A::_Dispatch(self, rpc);", c)


class Errors(unittest.TestCase):
    def check(self, source, line, fragment):
        with self.assertRaises(iig.IigError) as cm:
            gen(source, path="dir/Bad.iig")
        self.assertEqual(cm.exception.line, line, str(cm.exception))
        self.assertIn(fragment, cm.exception.message)
        self.assertTrue(str(cm.exception).startswith(f"dir/Bad.iig:{line}: error: "))

    def test_multiple_inheritance(self):
        self.check("#include <x>\nclass A : public B, public C {\n};\n", 2,
                   "multiple inheritance")

    def test_missing_base(self):
        self.check("\nclass A {\npublic:\n};\n", 2, "has no base class")
        self.check("class A : {\n};\n", 1, "missing base class")

    def test_non_public_base(self):
        self.check("class A : private B {\n};\n", 1, "must be inherited 'public'")
        self.check("class A : B {\n};\n", 1, "must be inherited 'public'")

    def test_data_member(self):
        self.check("class A : public B {\npublic:\n  virtual bool init() override;\n"
                   "  uint32_t count;\n};\n", 4, "data members are not allowed")
        self.check("class A : public B {\npublic:\n  void (*cb)(int);\n};\n", 3,
                   "data members")

    def test_method_body(self):
        self.check("class A : public B {\npublic:\n  void f() LOCALONLY { }\n};\n", 3,
                   "method bodies")

    def test_unnamed_parameter(self):
        self.check("class A : public B {\npublic:\n  kern_return_t f(uint32_t,\n"
                   "                  IOService *);\n};\n", 3, "parameter 1")

    def test_overloads(self):
        self.check("class A : public B {\npublic:\n  kern_return_t f(uint32_t x);\n"
                   "  kern_return_t f(uint64_t x);\n};\n", 4, "overloading")

    def test_const_rpc(self):
        self.check("class A : public B {\npublic:\n  kern_return_t f(uint32_t x) const;\n};\n",
                   3, "const methods")

    def test_rpc_return_type(self):
        self.check("class A : public B {\npublic:\n  uint32_t f(uint32_t x);\n};\n", 3,
                   "returns kern_return_t or void")

    def test_bad_type_annotation(self):
        self.check("class A : public B {\npublic:\n  void f(OSAction * a) TYPE(Foo);\n};\n", 3,
                   "Class::Method")

    def test_constructor(self):
        self.check("class A : public B {\npublic:\n  A(int x);\n};\n", 3, "constructors")

    def test_preprocessor_line_inside_a_member(self):
        self.check("class A : public B {\npublic:\n  kern_return_t f(uint32_t x,\n#if X\n"
                   "    uint32_t y);\n#endif\n};\n", 4, "preprocessor line inside a member")

    def test_class_not_at_file_scope(self):
        self.check("namespace n {\n\nclass A : public B {\n};\n}\n", 3, "file scope")

    def test_unterminated_comment(self):
        self.check("class A : public B {\n/* never closed\n};\n", 2, "unterminated")

    def test_unbalanced(self):
        self.check("class A : public B {\npublic:\n  void f(int x;\n};\n", 3, "never closed")

    def test_missing_semicolon_after_class(self):
        self.check("class A : public B {\npublic:\n}\nint x;\n", 3, "expected ';'")


class CommandLine(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)
        self.d = self.dir.name

    def write(self, name, text):
        path = os.path.join(self.d, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(textwrap.dedent(text))
        return path

    def run_main(self, *args):
        err = io.StringIO()
        with redirect_stderr(err):
            status = iig.main(list(args))
        return status, err.getvalue()

    def test_writes_outputs_and_depfile_and_reads_included_iig(self):
        self.write("Mid.iig", """\
            #include <DriverKit/IOService.iig>
            class Mid : public IOService {
            public:
                virtual uint32_t Helper(uint32_t x) LOCALONLY;
                kern_return_t Work(uint32_t x);
            };
            """)
        leaf = self.write("Leaf.iig", """\
            #include "Mid.iig"
            class Leaf : public Mid {
            public:
                uint32_t Helper(uint32_t x) override;
                kern_return_t Work(uint32_t x) override;
            };
            """)
        out = os.path.join(self.d, "out")
        status, err = self.run_main("--input", leaf, "--header", f"{out}/Leaf.h",
                                    "--impl", f"{out}/Leaf.iig.cpp", "--depfile", f"{out}/Leaf.d")
        self.assertEqual(status, 0, err)
        with open(f"{out}/Leaf.h", encoding="utf-8") as f:
            header = f.read()
        self.assertIn('#include "Mid.h"', header)
        self.assertIn("  uint32_t Helper(uint32_t x) override;", header)
        self.assertIn("  kern_return_t Work_Impl(uint32_t x) override;", header)
        with open(f"{out}/Leaf.iig.cpp", encoding="utf-8") as f:
            self.assertIn('#include "Leaf.h"', f.read())
        with open(f"{out}/Leaf.d", encoding="utf-8") as f:
            dep = f.read()
        self.assertTrue(dep.startswith(os.path.abspath(f"{out}/Leaf.h") + ":"))
        self.assertIn(os.path.join(self.d, "Mid.iig"), dep)
        self.assertIn("iig.py", dep)

    def test_error_exit_status_and_message(self):
        bad = self.write("Bad.iig", "class A : public B, public C {\n};\n")
        out = os.path.join(self.d, "out")
        status, err = self.run_main("--input", bad, "--header", f"{out}/Bad.h",
                                    "--impl", f"{out}/Bad.iig.cpp")
        self.assertEqual(status, 1)
        self.assertIn(f"{bad}:1: error: class A: multiple inheritance", err)
        self.assertFalse(os.path.exists(f"{out}/Bad.h"))

    def test_missing_input(self):
        status, err = self.run_main("--input", os.path.join(self.d, "none.iig"), "--header",
                                    "x.h", "--impl", "x.cpp")
        self.assertEqual(status, 1)
        self.assertIn("none.iig: error:", err)


if __name__ == "__main__":
    unittest.main()
