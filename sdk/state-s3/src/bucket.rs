//! The S3 calls the store makes, with S3's answers mapped to what the store
//! needs to know: the object is absent, a precondition failed, or the call
//! failed (a [`StateError::Backend`] naming the AWS error code and message).

use std::collections::HashMap;

use aws_sdk_s3::Client;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::{ByteStream, DateTime, DateTimeFormat};
use aws_sdk_s3::types::{BucketVersioningStatus, Delete, ObjectIdentifier};
use cairn_core::StackName;
use cairn_state::StateError;

/// S3 deletes at most this many keys per `DeleteObjects` call.
const DELETE_BATCH: usize = 1000;

/// How many journal objects are fetched at once.
const FETCH_CONCURRENCY: usize = 16;

/// One bucket, and how the store names it in messages.
#[derive(Clone)]
pub(crate) struct Bucket {
    pub(crate) client: Client,
    pub(crate) name: String,
    /// `s3://BUCKET/PREFIX`, for messages.
    pub(crate) shown: String,
}

/// The condition of a write.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Cond<'a> {
    /// None.
    Any,
    /// Only if no object has the key (`If-None-Match: *`).
    Absent,
    /// Only if the object's current ETag is this one (`If-Match`).
    Matches(&'a str),
}

/// What a `PutObject` did.
#[derive(Debug)]
pub(crate) enum Put {
    /// The object was written; its new ETag.
    Written { etag: String },
    /// The condition did not hold (412, or 409 for a concurrent conditional
    /// write); the server's clock at that moment (`Date`, Unix seconds), if it said.
    Refused { server_time: Option<i64> },
    /// `If-Match` named an object that does not exist (404).
    Missing,
}

/// What a conditional `DeleteObject` did.
#[derive(Debug)]
pub(crate) enum Removed {
    /// Deleted (or already absent, for an unconditional delete).
    Done,
    /// The object's ETag was not the one given.
    Refused,
    /// `If-Match` named an object that does not exist.
    Missing,
}

/// An object as read.
#[derive(Debug)]
pub(crate) struct Object {
    pub(crate) body: Vec<u8>,
    pub(crate) etag: String,
    /// On the server's clock, to the second.
    pub(crate) last_modified: Option<DateTime>,
}

/// An object's headers.
#[derive(Debug)]
pub(crate) struct Head {
    pub(crate) etag: String,
    pub(crate) last_modified: Option<DateTime>,
    /// User metadata, keys without `x-amz-meta-`.
    pub(crate) metadata: HashMap<String, String>,
}

/// One version of a key in a versioned bucket.
#[derive(Debug)]
pub(crate) struct Version {
    pub(crate) id: String,
}

impl Bucket {
    /// A backend error for `stack`.
    pub(crate) fn fail(&self, stack: &StackName, action: &str, message: impl Into<String>) -> StateError {
        StateError::Backend {
            backend: self.shown.clone(),
            stack: stack.clone(),
            action: action.to_owned(),
            message: message.into(),
        }
    }

    /// A document that does not parse.
    pub(crate) fn corrupt(&self, stack: &StackName, what: &str, message: impl ToString) -> StateError {
        StateError::Corrupt {
            backend: self.shown.clone(),
            stack: stack.clone(),
            what: what.to_owned(),
            message: message.to_string(),
        }
    }

    /// Reads an object (a given version of it); `None` if there is none.
    pub(crate) async fn get(
        &self,
        stack: &StackName,
        action: &str,
        key: &str,
        version: Option<&str>,
    ) -> Result<Option<Object>, StateError> {
        let result = self
            .client
            .get_object()
            .bucket(&self.name)
            .key(key)
            .set_version_id(version.map(str::to_owned))
            .send()
            .await;
        let out = match result {
            Ok(out) => out,
            Err(e) if is_missing(&e) => return Ok(None),
            Err(e) => return Err(self.fail(stack, action, describe(&e))),
        };
        let etag = out.e_tag().unwrap_or_default().to_owned();
        let last_modified = out.last_modified().copied();
        let body = out
            .body
            .collect()
            .await
            .map_err(|e| self.fail(stack, action, format!("reading the body of {key} failed: {e}")))?
            .to_vec();
        Ok(Some(Object { body, etag, last_modified }))
    }

    /// Reads an object's headers (of a given version); `None` if there is none.
    pub(crate) async fn head(
        &self,
        stack: &StackName,
        action: &str,
        key: &str,
        version: Option<&str>,
    ) -> Result<Option<Head>, StateError> {
        let result = self
            .client
            .head_object()
            .bucket(&self.name)
            .key(key)
            .set_version_id(version.map(str::to_owned))
            .send()
            .await;
        match result {
            Ok(out) => Ok(Some(Head {
                etag: out.e_tag().unwrap_or_default().to_owned(),
                last_modified: out.last_modified().copied(),
                metadata: out.metadata().cloned().unwrap_or_default(),
            })),
            Err(e) if is_missing(&e) => Ok(None),
            Err(e) => Err(self.fail(stack, action, describe(&e))),
        }
    }

    /// The `LastModified` of `key` (Unix seconds, the server's clock): right
    /// after writing it, the server's time of that write. This machine's
    /// clock if the object is gone.
    pub(crate) async fn written_at(&self, stack: &StackName, action: &str, key: &str) -> Result<i64, StateError> {
        let head = self.head(stack, action, key, None).await?;
        Ok(head.and_then(|h| h.last_modified).map_or_else(crate::local_now, |t| t.secs()))
    }

    /// Writes an object if `cond` holds.
    pub(crate) async fn put(
        &self,
        stack: &StackName,
        action: &str,
        key: &str,
        body: Vec<u8>,
        cond: Cond<'_>,
        metadata: Option<HashMap<String, String>>,
    ) -> Result<Put, StateError> {
        let (if_match, if_none_match) = match cond {
            Cond::Any => (None, None),
            Cond::Absent => (None, Some("*".to_owned())),
            Cond::Matches(etag) => (Some(etag.to_owned()), None),
        };
        let result = self
            .client
            .put_object()
            .bucket(&self.name)
            .key(key)
            .content_type("application/json")
            .body(ByteStream::from(body))
            .set_if_match(if_match)
            .set_if_none_match(if_none_match)
            .set_metadata(metadata)
            .send()
            .await;
        match result {
            Ok(out) => match out.e_tag() {
                Some(etag) => Ok(Put::Written { etag: etag.to_owned() }),
                None => Err(self.fail(
                    stack,
                    action,
                    format!(
                        "the service wrote {key} but returned no ETag; this backend needs an S3 service with ETags \
                         and conditional writes (If-Match, If-None-Match)"
                    ),
                )),
            },
            Err(e) if is_refused(&e) => Ok(Put::Refused { server_time: server_time(&e) }),
            Err(e) if matches!(cond, Cond::Matches(_)) && is_missing(&e) => Ok(Put::Missing),
            Err(e) => Err(self.fail(stack, action, describe(&e))),
        }
    }

    /// Deletes an object, only if its ETag is `if_match` when given.
    pub(crate) async fn remove(
        &self,
        stack: &StackName,
        action: &str,
        key: &str,
        if_match: Option<&str>,
    ) -> Result<Removed, StateError> {
        let result = self
            .client
            .delete_object()
            .bucket(&self.name)
            .key(key)
            .set_if_match(if_match.map(str::to_owned))
            .send()
            .await;
        match result {
            Ok(_) => Ok(Removed::Done),
            Err(e) if is_refused(&e) => Ok(Removed::Refused),
            Err(e) if is_missing(&e) => Ok(Removed::Missing),
            Err(e) => Err(self.fail(stack, action, describe(&e))),
        }
    }

    /// Deletes objects, up to 1000 per call.
    pub(crate) async fn remove_all(&self, stack: &StackName, action: &str, keys: &[String]) -> Result<(), StateError> {
        for batch in keys.chunks(DELETE_BATCH) {
            let objects = batch
                .iter()
                .map(|key| ObjectIdentifier::builder().key(key).build())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| self.fail(stack, action, e.to_string()))?;
            let delete = Delete::builder()
                .set_objects(Some(objects))
                .quiet(true)
                .build()
                .map_err(|e| self.fail(stack, action, e.to_string()))?;
            let out = self
                .client
                .delete_objects()
                .bucket(&self.name)
                .delete(delete)
                .send()
                .await
                .map_err(|e| self.fail(stack, action, describe(&e)))?;
            if let Some(err) = out.errors().first() {
                return Err(self.fail(
                    stack,
                    action,
                    format!(
                        "{}: {} ({})",
                        err.code().unwrap_or("error"),
                        err.message().unwrap_or("no message"),
                        err.key().unwrap_or("unknown key")
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The keys under `prefix`, in S3's (lexicographic) order.
    pub(crate) async fn list(&self, stack: &StackName, action: &str, prefix: &str) -> Result<Vec<String>, StateError> {
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = self
                .client
                .list_objects_v2()
                .bucket(&self.name)
                .prefix(prefix)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| self.fail(stack, action, describe(&e)))?;
            keys.extend(out.contents().iter().filter_map(|o| o.key()).map(str::to_owned));
            match out.next_continuation_token() {
                Some(next) if out.is_truncated() == Some(true) => token = Some(next.to_owned()),
                _ => return Ok(keys),
            }
        }
    }

    /// The versions of `key`, newest first (delete markers left out).
    pub(crate) async fn versions(
        &self,
        stack: &StackName,
        action: &str,
        key: &str,
    ) -> Result<Vec<Version>, StateError> {
        let mut versions = Vec::new();
        let (mut key_marker, mut version_marker): (Option<String>, Option<String>) = (None, None);
        loop {
            let out = self
                .client
                .list_object_versions()
                .bucket(&self.name)
                .prefix(key)
                .set_key_marker(key_marker.take())
                .set_version_id_marker(version_marker.take())
                .send()
                .await
                .map_err(|e| self.fail(stack, action, describe(&e)))?;
            for v in out.versions() {
                // The prefix also matches longer keys (`state.json.bak`).
                if v.key() != Some(key) {
                    continue;
                }
                if let Some(id) = v.version_id() {
                    versions.push(Version { id: id.to_owned() });
                }
            }
            if out.is_truncated() != Some(true) {
                return Ok(versions);
            }
            key_marker = out.next_key_marker().map(str::to_owned);
            version_marker = out.next_version_id_marker().map(str::to_owned);
            if key_marker.is_none() && version_marker.is_none() {
                return Ok(versions);
            }
        }
    }

    /// Whether the bucket keeps versions.
    pub(crate) async fn versioning_enabled(&self, stack: &StackName) -> Result<bool, StateError> {
        let out = self
            .client
            .get_bucket_versioning()
            .bucket(&self.name)
            .send()
            .await
            .map_err(|e| self.fail(stack, "check the bucket's versioning", describe(&e)))?;
        Ok(out.status() == Some(&BucketVersioningStatus::Enabled))
    }

    /// Reads the bodies of `keys` (a few at a time), in order; `None` if one
    /// of them no longer exists.
    pub(crate) async fn fetch_all(
        &self,
        stack: &StackName,
        action: &str,
        keys: &[String],
    ) -> Result<Option<Vec<Vec<u8>>>, StateError> {
        let mut bodies = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(FETCH_CONCURRENCY) {
            let mut tasks = tokio::task::JoinSet::new();
            for (i, key) in chunk.iter().enumerate() {
                let (bucket, stack, action, key) = (self.clone(), stack.clone(), action.to_owned(), key.clone());
                tasks.spawn(async move { (i, bucket.get(&stack, &action, &key, None).await) });
            }
            let mut got: Vec<Option<Vec<u8>>> = vec![None; chunk.len()];
            let mut vanished = false;
            while let Some(joined) = tasks.join_next().await {
                let (i, result) = joined.map_err(|e| self.fail(stack, action, format!("a read task failed: {e}")))?;
                match result? {
                    Some(object) => got[i] = Some(object.body),
                    None => vanished = true,
                }
            }
            if vanished {
                return Ok(None);
            }
            bodies.extend(got.into_iter().flatten());
        }
        Ok(Some(bodies))
    }
}

/// Whether two ETags name the same content (S3 quotes them; some services do not).
pub(crate) fn same_etag(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a.trim_matches('"') == b.trim_matches('"'),
        (None, None) => true,
        _ => false,
    }
}

fn status<E>(err: &SdkError<E>) -> Option<u16> {
    err.raw_response().map(|r| r.status().as_u16())
}

/// A failed precondition (412), or a concurrent conditional write (409
/// `ConditionalRequestConflict`, which AWS answers while another conditional
/// write to the key is in flight).
fn is_refused<E: ProvideErrorMetadata>(err: &SdkError<E>) -> bool {
    status(err) == Some(412) || matches!(err.code(), Some("PreconditionFailed" | "ConditionalRequestConflict"))
}

/// No such object (never `NoSuchBucket`, which is a real failure).
fn is_missing<E: ProvideErrorMetadata>(err: &SdkError<E>) -> bool {
    match err.code() {
        // HEAD answers carry no body: the SDK names a bare 404 `NotFound`.
        Some(code) => matches!(code, "NoSuchKey" | "NotFound"),
        None => status(err) == Some(404),
    }
}

/// The AWS error code and message, or the whole error chain when the
/// request got no service answer (connection refused, timeout, ...).
pub(crate) fn describe<E>(err: &SdkError<E>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match err.code() {
        Some(code) => format!("{code}: {}", err.message().unwrap_or("no message")),
        None => match status(err) {
            Some(status) => format!("HTTP {status}: {}", DisplayErrorContext(err)),
            None => DisplayErrorContext(err).to_string(),
        },
    }
}

/// The server's clock when it answered (the `Date` header), in Unix seconds.
fn server_time<E>(err: &SdkError<E>) -> Option<i64> {
    let date = err.raw_response()?.headers().get("date")?;
    DateTime::from_str(date, DateTimeFormat::HttpDate).ok().map(|t| t.secs())
}
