//! Typed builders turn a missing required argument into a compile error; this pins its message.

#[test]
fn missing_required_arguments_do_not_compile() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
