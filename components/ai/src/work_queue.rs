//! A work queue and its dead-letter queue, as the components that consume
//! messages (training triggers, preprocessing) declare them.

use std::collections::BTreeMap;

use cairn_aws::sqs::RedrivePolicy;
use cairn_aws::{Queue, QueueArgs};
use cairn_core::{DeclareError, Input, Scope};

/// Days a dead letter is kept for someone to look at.
const DEAD_LETTER_RETENTION_SECONDS: i32 = 14 * 24 * 3600;

/// How a work queue is declared.
pub(crate) struct WorkQueue<'a> {
    /// The queue's suffix in the component (`<component>-<name>`).
    pub(crate) name: &'a str,
    /// The dead-letter queue's suffix.
    pub(crate) dead_letters: &'a str,
    /// Seconds a received message stays hidden while it is processed.
    pub(crate) visibility_timeout_seconds: i32,
    /// Receives of a message before it moves to the dead-letter queue.
    pub(crate) max_receive_count: i32,
    /// The KMS key both queues are encrypted with, if any.
    pub(crate) kms_key: Option<Input<String>>,
}

impl WorkQueue<'_> {
    /// Declares the dead-letter queue, then the queue redriving to it; returns (queue, dead letters).
    pub(crate) fn declare(
        self,
        scope: &Scope,
        tags: &BTreeMap<String, String>,
    ) -> Result<(Queue, Queue), DeclareError> {
        let mut dead =
            QueueArgs::builder().message_retention_seconds(DEAD_LETTER_RETENTION_SECONDS).tags(tags.clone()).build();
        dead.kms_master_key_id = self.kms_key.clone();
        let dead = scope.resource(&scope.child_name(self.dead_letters), dead)?;
        let mut queue = QueueArgs::builder()
            .visibility_timeout_seconds(self.visibility_timeout_seconds)
            .redrive_policy(RedrivePolicy {
                dead_letter_target_arn: dead.arn.clone().into(),
                max_receive_count: self.max_receive_count,
            })
            .tags(tags.clone())
            .build();
        queue.kms_master_key_id = self.kms_key;
        let queue = scope.resource(&scope.child_name(self.name), queue)?;
        Ok((queue, dead))
    }
}
