// A role without its trust policy must not compile.
fn main() {
    let _role = cairn_aws::RoleArgs::builder().description("no trust policy").build();
}
