//! The `cairn-provider-aws` plugin binary: serves [`cairn_provider_aws::AwsProvider`]
//! and `s3://` state stores to the Cairn engine over the plugin protocol.

fn main() -> std::process::ExitCode {
    cairn_plugin::serve_main_with_backends(cairn_provider_aws::AwsProvider::new(), cairn_provider_aws::S3Backends)
}
