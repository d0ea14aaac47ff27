//! The end-to-end tests, one module per subject, linked into one test binary.
//!
//! Each module links the AWS SDK crates, so one binary per file cost a
//! 130 MB link each (2 GB of disk and a minute of linking per cold build).
//! nextest still runs every test in a process of its own; run one subject
//! with `cargo nextest run -p cairn-tests -E 'test(/^network::/)'`.

mod architecture;
mod bad_input;
mod chaos;
mod component_errors;
mod concurrency;
mod config_commands;
mod crash;
mod eks_s3_extras;
mod example_stacks;
mod faults;
mod gitops;
mod iam_kms_sqs_logs;
mod import;
mod lock;
mod network;
mod outside_repo;
mod platform;
mod plugin;
mod policy;
mod postgres_backend;
mod promote;
mod provider_config;
mod random_provider;
mod resource_options;
mod run_commands;
mod secrets;
mod secrets_manager;
mod storage_monitoring;
mod transfer;
