//! The `cairn-provider-gitops` plugin binary: serves [`cairn_provider_gitops::GitOpsProvider`]
//! to the Cairn engine over the plugin protocol.

fn main() -> std::process::ExitCode {
    cairn_plugin::serve_main(cairn_provider_gitops::GitOpsProvider::default())
}
