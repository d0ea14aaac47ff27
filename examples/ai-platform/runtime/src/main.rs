//! The `ai-runtime` program: see the library for what it declares.
//!
//! ```sh
//! cargo run -p ai-runtime -- up --stack dev
//! ```

fn main() -> std::process::ExitCode {
    cairn::run("ai-runtime", ai_runtime::program)
}
