"""Unit tests of emu/iig/iig.py on the shapes of Apple's own .iig files (xnu iokit/DriverKit,
IOPCIFamily PCIDriverKit): class annotations, EXTENDS, TYPE in every form, #if and #pragma inside
classes, attributes after parameter lists, root classes, reference and namespaced parameters,
access sections, static and INVOKEREPLY methods. Every input here is written for the test."""

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


def gen(source, path="Shape.iig", known=None, defines=None):
    return iig.generate(textwrap.dedent(source), path, os.path.basename(path)[:-4] + ".h", known,
                        defines)


def body(header, name):
    """The generated class declaration of `name`, lines stripped."""
    lines = [line.strip() for line in header.splitlines()]
    start = lines.index(next(x for x in lines if x.startswith(f"class {name} : public ")))
    dispatch = lines.index("static kern_return_t _Dispatch(OSObject* self, const IORPC rpc);",
                           start)
    return lines[start:dispatch + 2]


class ClassAnnotations(unittest.TestCase):
    def test_kernel_class_is_generated(self):
        h, c = gen("""\
            class KERNEL Svc : public IOService {
            public:
                virtual kern_return_t Start(IOService * provider) override LOCAL;
                virtual kern_return_t Publish(uint32_t flags) KERNEL;
            };
            """)
        b = body(h, "Svc")
        self.assertIn("// KERNEL: on a Mac the kernel or the DriverKit runtime implements this "
                      "class;", h)
        self.assertIn("kern_return_t Start_Impl(IOService * provider) override;", b)
        self.assertIn("kern_return_t Publish(uint32_t flags, OSDispatchMethod supermethod = "
                      "nullptr);", b)
        self.assertIn("virtual kern_return_t Publish_Impl(uint32_t flags);", b)
        self.assertIn("#define Svc_Publish_Args uint32_t flags", h)
        self.assertIn("OSDefineMetaClass(Svc, IOService);", c)
        self.assertNotIn("KERNEL", "\n".join(b))

    def test_native_kernel_and_iig_prefixed_and_attribute_forms(self):
        for head in ("class NATIVE KERNEL Src : public OSObject",
                     "class IIG_NATIVE IIG_KERNEL Src : public OSObject",
                     'class __attribute__((annotate("native"))) __attribute__((annotate("kernel")))'
                     " Src : public OSObject"):
            h, c = gen(head + """ {
            public:
                virtual kern_return_t Arm(uint64_t deadline);
            };
            """)
            self.assertIn("// NATIVE KERNEL: on a Mac", h, head)
            self.assertIn("virtual kern_return_t Arm_Impl(uint64_t deadline);", body(h, "Src"))

    def test_forward_declarations_with_annotations_pass_through(self):
        h, c = gen("class IIG_SERIALIZABLE OSData;\nclass KERNEL Fwd;\n")
        self.assertIn("class IIG_SERIALIZABLE OSData;", h)
        self.assertIn("class KERNEL Fwd;", h)
        self.assertNotIn("OSDefine", c)


class Extends(unittest.TestCase):
    SOURCE = """\
        class KERNEL Dev : public IOService {
        public:
            virtual kern_return_t Open(IOService * client);
        private:
            virtual kern_return_t Hidden(uint32_t x);
        };

        #pragma mark Private
        class
            EXTENDS (Dev)DevPrivate
        {
            virtual kern_return_t _Access(uint64_t offset, uint64_t * data) final;
            uint32_t _Count() LOCALONLY;
        };
        """

    def test_methods_join_the_extended_class(self):
        h, c = gen(self.SOURCE)
        b = body(h, "Dev")
        i = b.index("// from class EXTENDS (Dev) DevPrivate (line 9)")
        self.assertEqual(b[i + 1], "public:")
        self.assertIn("kern_return_t _Access(uint64_t offset, uint64_t * data, OSDispatchMethod "
                      "supermethod = nullptr);", b[i:])
        self.assertIn("virtual kern_return_t _Access_Impl(uint64_t offset, uint64_t * data) "
                      "final;", b[i:])
        self.assertIn("uint32_t _Count();", b[i:])
        self.assertIn("#define Dev__Access_Args uint64_t offset, uint64_t * data", h)
        self.assertIn('case IORPCMethodID("_Access"):', c)
        self.assertNotIn("class DevPrivate", h)
        self.assertIn("// class EXTENDS (Dev) DevPrivate (line 9): its methods are declared in "
                      "class Dev above.", h)
        self.assertEqual(c.count("OSDefine"), 1)

    def test_extends_an_unknown_class(self):
        with self.assertRaises(iig.IigError) as cm:
            gen("class EXTENDS(Nowhere) Ext {\n  kern_return_t f(uint32_t x);\n};\n",
                path="E.iig")
        self.assertEqual(cm.exception.line, 1)
        self.assertIn("EXTENDS(Nowhere) names no class declared in this file", str(cm.exception))

    def test_extends_with_a_base(self):
        with self.assertRaises(iig.IigError) as cm:
            gen("class A : public OSObject {\n};\nclass EXTENDS(A) B : public OSObject {\n};\n")
        self.assertEqual(cm.exception.line, 3)
        self.assertIn("has no base class", cm.exception.message)


class TypeAnnotation(unittest.TestCase):
    def test_qualified_and_unqualified_on_methods_and_parameters(self):
        h, c = gen("""\
            class KERNEL Queue : public OSObject {
            public:
                virtual kern_return_t SetReadyHandler(OSAction * action TYPE(Ready));
                virtual kern_return_t SetOtherHandler(OSAction * action TYPE(Queue::Ready));
                virtual void Ready(OSAction * action TARGET, uint64_t n) LOCAL = 0;
                virtual void Fired(OSAction * action TARGET, uint64_t n) TYPE(Ready);
                virtual void Timer(OSAction * action TARGET, uint64_t t)
                    TYPE(IOTimerDispatchSource::TimerOccurred);
            };
            """)
        b = body(h, "Queue")
        self.assertIn("#define Queue_SetReadyHandler_Args OSAction * action", h)
        self.assertIn("kern_return_t SetReadyHandler(OSAction * action, OSDispatchMethod "
                      "supermethod = nullptr);", b)
        self.assertIn("virtual void Fired_Impl(OSAction * action, uint64_t n);", b)
        self.assertIn('this, IORPCMethodID("Queue::Ready"),', c)
        self.assertIn('this, IORPCMethodID("IOTimerDispatchSource::TimerOccurred"),', c)

    def test_unqualified_type_found_in_a_known_base(self):
        known = {"Src": iig.KnownClass("OSObject", set(), {"Occurred"})}
        _, c = gen("""\
            class D : public Src {
            public:
                virtual void Handler(OSAction * action, uint64_t n) TYPE(Occurred);
            };
            """, known=known)
        self.assertIn('IORPCMethodID("Src::Occurred")', c)

    def test_unresolvable_unqualified_type(self):
        for src, line in (("class A : public OSObject {\npublic:\n"
                           "  void f(OSAction * a) TYPE(Nope);\n};\n", 3),
                          ("class A : public OSObject {\npublic:\n  kern_return_t f(\n"
                           "    OSAction * a TYPE(Nope));\n};\n", 4)):
            with self.assertRaises(iig.IigError) as cm:
                gen(src, path="T.iig")
            self.assertEqual(cm.exception.line, line)
            self.assertIn("TYPE(Nope): no method Nope in A", cm.exception.message)


class Preprocessor(unittest.TestCase):
    SOURCE = """\
        #define SHAPE_LEVEL 2
        class A : public OSObject {
        public:
        #pragma mark Group one
            kern_return_t Always(uint32_t x);
        #if SHAPE_PRIVATE
            kern_return_t Private(uint32_t x);
        #elif SHAPE_LEVEL >= 2 && !defined(SHAPE_OFF)
            kern_return_t Level2(uint32_t x);
        #else
            kern_return_t Otherwise(uint32_t x);
        #endif
        #ifdef __IIG
            kern_return_t UnderIig(uint32_t x);
        #endif
        #pragma clang diagnostic ignored "-Wshadow"
        };
        """

    def test_if_decided_at_generation_time(self):
        h, c = gen(self.SOURCE)
        b = body(h, "A")
        for name, present in (("Always", True), ("Private", False), ("Level2", True),
                              ("Otherwise", False), ("UnderIig", True)):
            self.assertEqual(f"virtual kern_return_t {name}_Impl(uint32_t x);" in b, present, name)
        self.assertNotIn("#pragma mark", h.split("class A :")[1])
        self.assertIn('#pragma clang diagnostic ignored "-Wshadow"', b)
        self.assertNotIn("#if SHAPE_PRIVATE", h)

    def test_defines_from_the_command_line(self):
        h, _ = gen(self.SOURCE, defines={"SHAPE_PRIVATE": "1"})
        self.assertIn("virtual kern_return_t Private_Impl(uint32_t x);", body(h, "A"))
        h, _ = gen(self.SOURCE, defines={"SHAPE_OFF": "1"})
        self.assertIn("virtual kern_return_t Otherwise_Impl(uint32_t x);", body(h, "A"))
        h, _ = gen(self.SOURCE, defines={"__IIG": "\0undef"})
        self.assertNotIn("UnderIig", h)

    def test_class_in_a_skipped_region_is_passed_through(self):
        h, c = gen("#if SHAPE_PRIVATE\nclass EXTENDS (A) B {\n  kern_return_t f(uint32_t x);\n"
                   "};\n#endif\n")
        self.assertIn("class EXTENDS (A) B {", h)
        self.assertNotIn("OSDefine", c)

    def test_undecided_if_outside_classes_passes_through(self):
        src = ("#if __has_include(<foo.h>)\nnamespace a {\n#else\nnamespace b {\n#endif\n"
               "struct S {};\n}\nclass A : public OSObject {\npublic:\n"
               "  kern_return_t f(uint32_t x);\n};\n")
        h, c = gen(src)
        self.assertIn("#if __has_include(<foo.h>)\nnamespace a {\n#else\nnamespace b {", h)
        self.assertIn("OSDefineMetaClass(A, OSObject);", c)

    def check(self, source, line, fragment):
        with self.assertRaises(iig.IigError) as cm:
            gen(source, path="P.iig")
        self.assertEqual(cm.exception.line, line, str(cm.exception))
        self.assertIn(fragment, cm.exception.message)

    def test_errors(self):
        self.check("class A : public OSObject {\npublic:\n#if __has_include(<x.h>)\n"
                   "  kern_return_t f(uint32_t x);\n#endif\n};\n", 3, "cannot evaluate")
        self.check("#if 1\nclass A : public OSObject {\npublic:\n#endif\n};\n", 4,
                   "closes an #if opened before it")
        self.check("class A : public OSObject {\npublic:\n#if 1\n  kern_return_t f(uint32_t x);"
                   "\n};\n#endif\n", 3, "#if without #endif")
        self.check("class A : public OSObject {\n#error not for this target\n};\n", 2,
                   "#error not for this target")
        self.check("class A : public OSObject {\n#include <x.h>\n};\n", 2, "'#include' inside")
        self.check("#if defined(__has_include(<x>))\nclass A : public OSObject {\n};\n#endif\n",
                   2, "cannot evaluate at generation time")
        self.check("#endif\n", 1, "#endif without #if")
        self.check("#ifdef X\nclass A;\n", 1, "#if without #endif")


class Declarations(unittest.TestCase):
    def test_attribute_after_the_parameter_list(self):
        h, _ = gen("""\
            class A : public OSObject {
            public:
                virtual kern_return_t Make(uint64_t options, IOMemoryDescriptor ** memory)
                    __attribute__((availability(driverkit,introduced=20.0)));
                static kern_return_t Create(uint64_t n, A ** out)
                    __attribute__((availability(driverkit,introduced=20.0)));
            };
            """)
        b = body(h, "A")
        self.assertIn("kern_return_t Make(uint64_t options, IOMemoryDescriptor ** memory, "
                      "OSDispatchMethod supermethod = nullptr) __attribute__((availability("
                      "driverkit,introduced=20.0)));", b)
        self.assertIn("virtual kern_return_t Make_Impl(uint64_t options, IOMemoryDescriptor ** "
                      "memory);", b)
        self.assertIn("static kern_return_t Create(uint64_t n, A ** out) __attribute__(("
                      "availability(driverkit,introduced=20.0)));", b)

    def test_static_methods_kept_with_args_unless_localonly(self):
        h, _ = gen("""\
            class A : public OSObject {
            public:
                static kern_return_t Create(uint32_t size, A ** result);
                static size_t HeaderSize(void) LOCALONLY;
            };
            """)
        self.assertIn("static kern_return_t Create(uint32_t size, A ** result);", body(h, "A"))
        self.assertIn("static size_t HeaderSize(void);", body(h, "A"))
        self.assertIn("#define A_Create_Args uint32_t size, A ** result", h)
        self.assertNotIn("A_HeaderSize_Args", h)

    def test_reference_and_namespaced_parameters(self):
        h, c = gen("""\
            class A : public OSObject {
            public:
                kern_return_t Check(const IOAddressSegment & range, ns::inner::Blob * blob,
                                    const ns::Mode mode = ns::Mode::kFast);
            };
            """)
        self.assertIn("#define A_Check_Args const IOAddressSegment & range, ns::inner::Blob * "
                      "blob, const ns::Mode mode", h)
        self.assertIn("kern_return_t Check(const IOAddressSegment & range, ns::inner::Blob * blob,"
                      " const ns::Mode mode = ns::Mode::kFast, OSDispatchMethod supermethod = "
                      "nullptr);", body(h, "A"))
        self.assertIn('IORPCMethodID("Check"), range, blob, mode);', c)

    def test_protected_and_private_sections(self):
        h, _ = gen("""\
            class A : public OSObject {
            public:
                kern_return_t Open(uint32_t x);
            protected:
                uint32_t Helper(uint32_t x) LOCALONLY;
            private:
                kern_return_t Secret(uint32_t x);
            };
            """)
        b = body(h, "A")
        self.assertLess(b.index("protected:"), b.index("uint32_t Helper(uint32_t x);"))
        self.assertLess(b.index("private:"), b.index("virtual kern_return_t Secret_Impl(uint32_t "
                                                     "x);"))
        self.assertEqual(b[-3:], ["public:", "static kern_return_t _Dispatch(OSObject* self, "
                                  "const IORPC rpc);", "};"])

    def test_localonly_overload_of_an_rpc_method(self):
        h, _ = gen("""\
            class A : public OSObject {
            public:
                kern_return_t Name(IOReturn value, OSString ** name);
                const char * Name(IOReturn value) LOCALONLY;
            };
            """)
        self.assertIn("const char * Name(IOReturn value);", body(h, "A"))
        self.assertEqual(h.count("#define A_Name_Args"), 1)

    def test_two_rpc_methods_of_one_name(self):
        with self.assertRaises(iig.IigError) as cm:
            gen("class A : public OSObject {\npublic:\n  kern_return_t f(uint32_t x);\n"
                "  kern_return_t f(uint64_t x);\n};\n")
        self.assertEqual(cm.exception.line, 4)

    def test_invokereply_methods_receive_the_message(self):
        h, c = gen("""\
            class KERNEL Src : public OSObject {
            public:
                virtual kern_return_t Poll(bool synchronous) INVOKEREPLY;
            };
            class Sub : public Src {
            public:
                virtual kern_return_t Poll(bool synchronous) override LOCAL;
            };
            """)
        self.assertIn("#define Src_Poll_Args const IORPC rpc, bool synchronous", h)
        self.assertIn("#define Sub_Poll_Args const IORPC rpc, bool synchronous", h)
        self.assertIn("kern_return_t Poll(bool synchronous, OSDispatchMethod supermethod = "
                      "nullptr);", body(h, "Src"))
        self.assertIn("virtual kern_return_t Poll_Impl(const IORPC rpc, bool synchronous);",
                      body(h, "Src"))
        self.assertIn("kern_return_t Poll_Impl(const IORPC rpc, bool synchronous) override;",
                      body(h, "Sub"))
        self.assertIn("using IigSignature_Src_Poll = kern_return_t(bool synchronous);", c)
        self.assertIn("static_cast<Src*>(self)->Src::Poll_Impl(rpc, a...)", c)

    def test_dext_iig_includes_become_headers(self):
        h, _ = gen('#include <DriverKit/DriverKit.iig>\n#include <PCIDriverKit/PCIDriverKit.iig>\n'
                   '#include "Local.iig"\n')
        for line in ("#include <DriverKit/DriverKit.h>", "#include <PCIDriverKit/PCIDriverKit.h>",
                     '#include "Local.h"'):
            self.assertIn(line, h)


class RootClass(unittest.TestCase):
    def test_root_class_generates_nothing_and_its_methods_are_known(self):
        h, c = gen("""\
            #if __IIG
            class Root
            {
                virtual void retain() const LOCALONLY;
            };
            #endif
            class Obj : public Root {
            public:
                virtual void retain() const override;
            };
            """)
        self.assertIn("// class Root (line 2): a root class whose methods are all LOCALONLY;", h)
        self.assertIn("virtual void retain() const override;", body(h, "Obj"))  # local, kept
        self.assertNotIn("OSDefineMetaClass(Root", c)
        self.assertIn("OSDefineMetaClass(Obj, Root);", c)

    def test_root_class_with_an_rpc_method(self):
        with self.assertRaises(iig.IigError) as cm:
            gen("class Root {\n  virtual void a() LOCALONLY;\n  kern_return_t b(uint32_t x);\n"
                "};\n")
        self.assertEqual(cm.exception.line, 3)
        self.assertIn("has no base class; 'b' is not LOCALONLY", cm.exception.message)


class Rejected(unittest.TestCase):
    def check(self, source, line, fragment):
        with self.assertRaises(iig.IigError) as cm:
            gen(source, path="dir/R.iig")
        self.assertEqual(cm.exception.line, line, str(cm.exception))
        self.assertIn(fragment, cm.exception.message)
        self.assertTrue(str(cm.exception).startswith(f"dir/R.iig:{line}: error: "))

    def test_unknown_class_annotation(self):
        self.check("\nclass KERNAL X : public OSObject {\n};\n", 2,
                   "'KERNAL' is not an iig class annotation")

    def test_misplaced_annotations(self):
        self.check("class QUEUENAME(Q) X : public OSObject {\n};\n", 1,
                   "QUEUENAME is a method annotation; it is not valid on a class")
        self.check("class X : public OSObject {\npublic:\n  kern_return_t f(uint32_t x) TARGET;\n"
                   "};\n", 3, "TARGET is a parameter annotation")
        self.check("class X : public OSObject {\npublic:\n  kern_return_t f(uint32_t x LOCALONLY)"
                   ";\n};\n", 3, "LOCALONLY is a method annotation; it is not valid on a "
                   "parameter")
        self.check("class X : public OSObject {\npublic:\n  kern_return_t f(uint32_t x) NATIVE;\n"
                   "};\n", 3, "NATIVE is a class annotation")

    def test_unknown_annotate_string_and_malformed_arguments(self):
        self.check('class __attribute__((annotate("kernal"))) X : public OSObject {\n};\n', 1,
                   'unknown iig annotation annotate("kernal")')
        self.check("class X : public OSObject {\npublic:\n  void f(OSAction * a) TYPE();\n};\n",
                   3, "TYPE(...) needs a name")
        self.check("class X : public OSObject {\npublic:\n  void f(OSAction * a) TYPE(A::B::C);\n"
                   "};\n", 3, "must name a method as Class::Method")
        self.check("class X : public OSObject {\npublic:\n  void f() LOCALONLY LOCALONLY;\n};\n",
                   3, "LOCALONLY given twice")


class CommandLine(unittest.TestCase):
    def test_define_and_undefine_options(self):
        with tempfile.TemporaryDirectory() as d:
            src = os.path.join(d, "C.iig")
            with open(src, "w", encoding="utf-8") as f:
                f.write("class C : public OSObject {\npublic:\n#if C_EXTRA == 3\n"
                        "  kern_return_t Extra(uint32_t x);\n#endif\n#if __IIG\n"
                        "  kern_return_t Iig(uint32_t x);\n#endif\n};\n")
            err = io.StringIO()
            with redirect_stderr(err):
                status = iig.main(["--input", src, "--header", f"{d}/C.h", "--impl",
                                   f"{d}/C.iig.cpp", "-D", "C_EXTRA=3", "-U", "__IIG"])
            self.assertEqual(status, 0, err.getvalue())
            with open(f"{d}/C.h", encoding="utf-8") as f:
                header = f.read()
            self.assertIn("Extra_Impl", header)
            self.assertNotIn("Iig_Impl", header)


if __name__ == "__main__":
    unittest.main()
