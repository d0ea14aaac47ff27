//! The optional DynamoDB lock (`s3://BUCKET/PREFIX?lock_table=NAME`).
//!
//! One item per stack in a table whose partition key is `LockID` (a string;
//! the layout Terraform's S3 backend uses, so a team can reuse its table).
//! The item is taken with a conditional `PutItem` (`attribute_not_exists`,
//! or an `Expires` in the past), renewed and released only on the condition
//! that it still names this run's lock id.
//!
//! `Expires` is on the S3 server's clock: the holder writes the
//! `LastModified` of its own lock object plus the lease, and a taker compares
//! it with the `LastModified` of its own lock object write. No two machines'
//! clocks are compared.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use cairn_core::StackName;
use cairn_state::{LockInfo, StateError};

use crate::bucket::describe;

/// The partition key's name.
const KEY: &str = "LockID";
/// The lock record, as JSON.
const INFO: &str = "Info";
/// The holder's lock id (conditions compare it).
const OWNER: &str = "Owner";
/// Unix seconds on the S3 server's clock after which the lock may be taken over.
const EXPIRES: &str = "Expires";

/// Creates a lock table of the layout `?lock_table=NAME` needs: a string
/// partition key `LockID` (Terraform's layout), billed per request. It is
/// what the `aws dynamodb create-table` command in the missing-table error
/// does.
///
/// ```no_run
/// # async fn demo(client: aws_sdk_dynamodb::Client) {
/// cairn_state_s3::create_lock_table(&client, "cairn-locks").await.expect("create the lock table");
/// # }
/// ```
pub async fn create_lock_table(
    client: &Client,
    name: &str,
) -> Result<(), SdkError<aws_sdk_dynamodb::operation::create_table::CreateTableError>> {
    use aws_sdk_dynamodb::types::{AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType};
    // Both builders fail only without their required fields, which are set here.
    let key = AttributeDefinition::builder()
        .attribute_name(KEY)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .expect("name and type are set");
    let schema =
        KeySchemaElement::builder().attribute_name(KEY).key_type(KeyType::Hash).build().expect("name and type are set");
    client
        .create_table()
        .table_name(name)
        .attribute_definitions(key)
        .key_schema(schema)
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await?;
    Ok(())
}

/// A DynamoDB lock table.
#[derive(Clone)]
pub(crate) struct LockTable {
    pub(crate) client: Client,
    pub(crate) name: String,
    /// The store as shown in messages.
    pub(crate) shown: String,
}

/// What taking the lock item did.
pub(crate) enum Taken {
    /// The item is ours; the record it replaced, if it was another run's expired lock.
    Ours { replaced: Option<LockInfo> },
    /// Another run holds it and its lease runs.
    Held(LockInfo),
    /// It was released between the refusal and the read: try again.
    Freed,
}

impl LockTable {
    fn fail(&self, stack: &StackName, action: &str, message: String) -> StateError {
        StateError::Backend {
            backend: self.shown.clone(),
            stack: stack.clone(),
            action: format!("{action} (DynamoDB table {})", self.name),
            message,
        }
    }

    /// The failure of a call, with the fix when the table is missing.
    fn failed<E>(&self, stack: &StackName, action: &str, err: &SdkError<E>) -> StateError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        if err.code() == Some("ResourceNotFoundException") {
            let t = &self.name;
            return self.fail(
                stack,
                action,
                format!(
                    "the lock table {t} does not exist: create it with a string partition key LockID (aws dynamodb \
                     create-table --table-name {t} --attribute-definitions AttributeName=LockID,AttributeType=S \
                     --key-schema AttributeName=LockID,KeyType=HASH --billing-mode PAY_PER_REQUEST), or drop \
                     ?lock_table from the backend URL"
                ),
            );
        }
        self.fail(stack, action, describe(err))
    }

    fn record(&self, stack: &StackName, item: &HashMap<String, AttributeValue>) -> Result<LockInfo, StateError> {
        let text = item.get(INFO).and_then(|v| v.as_s().ok()).ok_or_else(|| self.corrupt(stack, "has no Info"))?;
        serde_json::from_str(text).map_err(|e| self.corrupt(stack, &format!("has an Info that does not parse: {e}")))
    }

    fn corrupt(&self, stack: &StackName, message: &str) -> StateError {
        StateError::Corrupt {
            backend: self.shown.clone(),
            stack: stack.clone(),
            what: format!("the lock item in DynamoDB table {}", self.name),
            message: message.to_owned(),
        }
    }

    /// Takes the item `key` for `info` unless another run's lease is still
    /// running at `now` (Unix seconds, S3 server clock).
    pub(crate) async fn take(
        &self,
        stack: &StackName,
        key: &str,
        info: &LockInfo,
        now: i64,
    ) -> Result<Taken, StateError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.name)
            .set_item(Some(item(key, info, now)))
            // Our own id: the SDK retried a write whose answer was lost.
            .condition_expression("attribute_not_exists(#key) OR #expires < :now OR #owner = :id")
            .expression_attribute_names("#key", KEY)
            .expression_attribute_names("#expires", EXPIRES)
            .expression_attribute_names("#owner", OWNER)
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
            .expression_attribute_values(":id", AttributeValue::S(info.id.clone()))
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        match result {
            Ok(out) => {
                let replaced = match out.attributes() {
                    Some(old) if !old.is_empty() => Some(self.record(stack, old)?).filter(|l| l.id != info.id),
                    _ => None,
                };
                Ok(Taken::Ours { replaced })
            }
            Err(e) if is_condition_failed(&e) => match self.holder(stack, key).await? {
                Some(holder) => Ok(Taken::Held(holder)),
                None => Ok(Taken::Freed),
            },
            Err(e) => Err(self.failed(stack, "take the lock", &e)),
        }
    }

    /// The lock record in the item, if any (a consistent read).
    pub(crate) async fn holder(&self, stack: &StackName, key: &str) -> Result<Option<LockInfo>, StateError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.name)
            .key(KEY, AttributeValue::S(key.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.failed(stack, "read the lock", &e))?;
        out.item().map(|item| self.record(stack, item)).transpose()
    }

    /// Renews the lease of `info`'s lock until `now + ttl`; `false` if the item is no longer ours.
    pub(crate) async fn renew(
        &self,
        stack: &StackName,
        key: &str,
        info: &LockInfo,
        now: i64,
    ) -> Result<bool, StateError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.name)
            .set_item(Some(item(key, info, now)))
            .condition_expression("#owner = :id")
            .expression_attribute_names("#owner", OWNER)
            .expression_attribute_values(":id", AttributeValue::S(info.id.clone()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failed(&e) => Ok(false),
            Err(e) => Err(self.failed(stack, "renew the lock", &e)),
        }
    }

    /// Deletes the item if it is the lock `id`; `false` if it was not.
    pub(crate) async fn remove(&self, stack: &StackName, key: &str, id: &str) -> Result<bool, StateError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.name)
            .key(KEY, AttributeValue::S(key.to_owned()))
            .condition_expression("#owner = :id")
            .expression_attribute_names("#owner", OWNER)
            .expression_attribute_values(":id", AttributeValue::S(id.to_owned()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failed(&e) => Ok(false),
            Err(e) => Err(self.failed(stack, "remove the lock", &e)),
        }
    }
}

/// The item of `info`'s lock, leased until `now + ttl`.
fn item(key: &str, info: &LockInfo, now: i64) -> HashMap<String, AttributeValue> {
    let expires = now.saturating_add(i64::try_from(info.ttl_secs).unwrap_or(i64::MAX));
    HashMap::from([
        (KEY.to_owned(), AttributeValue::S(key.to_owned())),
        (INFO.to_owned(), AttributeValue::S(serde_json::to_string(info).expect("lock records serialize"))),
        (OWNER.to_owned(), AttributeValue::S(info.id.clone())),
        (EXPIRES.to_owned(), AttributeValue::N(expires.to_string())),
    ])
}

fn is_condition_failed<E: ProvideErrorMetadata>(err: &SdkError<E>) -> bool {
    err.code() == Some("ConditionalCheckFailedException")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_item_carries_the_record_and_the_lease_end() {
        let info = LockInfo::for_this_process("up", std::time::Duration::from_secs(60));
        let item = item("b/p/proj/dev/lock.json", &info, 1_000);
        assert_eq!(item[EXPIRES], AttributeValue::N("1060".into()));
        assert_eq!(item[OWNER], AttributeValue::S(info.id.clone()));
        let back: LockInfo = serde_json::from_str(item[INFO].as_s().unwrap()).unwrap();
        assert_eq!(back, info);
    }
}
