//! What every resource module needs around the AWS SDK: error mapping,
//! "not found" handling and bounded waiting.

use std::future::Future;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

// The three SDK crates share these smithy types; importing them from one is enough.
use aws_sdk_iam::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_smithy_async::rt::sleep::{AsyncSleep, SharedAsyncSleep, TokioSleep};
use aws_smithy_async::time::{SharedTimeSource, SystemTimeSource};
use cairn_core::{ErrorCode, ProviderError};

/// How often waiters poll.
const POLL_INTERVAL: Duration = Duration::from_secs(5);

/// The environment variable that overrides the waiters' time limit, in seconds.
pub(crate) const WAIT_TIMEOUT_ENV: &str = "CAIRN_AWS_WAIT_TIMEOUT_SECS";

/// EKS control planes take 10 to 15 minutes; leave room.
const DEFAULT_WAIT_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// The waiters' time limit: [`WAIT_TIMEOUT_ENV`] if set and valid, else 30 minutes.
fn wait_timeout() -> Duration {
    std::env::var(WAIT_TIMEOUT_ENV)
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map_or(DEFAULT_WAIT_TIMEOUT, Duration::from_secs)
}

/// The kind of failure an AWS error code means.
fn error_code_for(aws_code: &str) -> ErrorCode {
    match aws_code {
        "NoSuchEntity" | "NoSuchBucket" | "NotFound" | "ResourceNotFoundException" => ErrorCode::NotFound,
        "AccessDenied"
        | "AccessDeniedException"
        | "UnauthorizedOperation"
        | "InvalidClientTokenId"
        | "InvalidAccessKeyId"
        | "SignatureDoesNotMatch"
        | "ExpiredToken"
        | "ExpiredTokenException" => ErrorCode::PermissionDenied,
        "ValidationError"
        | "ValidationException"
        | "InvalidInput"
        | "MalformedPolicyDocument"
        | "InvalidParameterException"
        | "InvalidParameterValue"
        | "InvalidRequestException"
        | "InvalidRequest"
        | "InvalidArgument"
        | "InvalidBucketName"
        | "InvalidLocationConstraint"
        | "MalformedXML"
        | "UnsupportedAvailabilityZoneException" => ErrorCode::InvalidArgument,
        "Throttling"
        | "ThrottlingException"
        | "SlowDown"
        | "ServiceUnavailable"
        | "ServiceUnavailableException"
        | "RequestLimitExceeded" => ErrorCode::Unavailable,
        _ => ErrorCode::Internal,
    }
}

/// Maps an SDK error to a provider error that names the call, its target and
/// AWS's own error code and message.
pub(crate) fn aws_error<E>(call: &str, target: &str, err: SdkError<E>) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    if let Some(code) = err.code() {
        let message = err.message().unwrap_or("no message");
        // The request ID is what AWS support asks for; it rides in the message, which crosses the plugin protocol.
        let request =
            err.meta().extra("aws_request_id").map(|id| format!(" (AWS request ID {id})")).unwrap_or_default();
        return ProviderError::new(
            error_code_for(code),
            format!("{call} `{target}` failed: {code}: {message}{request}"),
        );
    }
    // No service response: the request never got an answer, or was never sent.
    if let Some(missing) = credentials_error(&err) {
        return ProviderError::new(
            ErrorCode::PermissionDenied,
            format!("{call} `{target}` failed: no AWS credentials ({missing}). {}", crate::settings::CREDENTIALS_FIX),
        );
    }
    let kind = match &err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => ErrorCode::Unavailable,
        _ => ErrorCode::Internal,
    };
    ProviderError::new(kind, format!("{call} `{target}` failed: {}", DisplayErrorContext(err)))
}

/// The credentials failure behind a request that was never sent, if that is why.
fn credentials_error<E: std::error::Error + 'static>(
    err: &SdkError<E>,
) -> Option<&aws_credential_types::provider::error::CredentialsError> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cause {
        if let Some(missing) = e.downcast_ref() {
            return Some(missing);
        }
        cause = e.source();
    }
    None
}

/// Turns SDK results into provider results.
pub(crate) trait AwsResultExt<T> {
    /// Maps an error with [`aws_error`].
    fn aws(self, call: &str, target: &str) -> Result<T, ProviderError>;

    /// `Ok(None)` when the call failed with one of `codes`: S3 answers
    /// "no configuration" with errors such as `NoSuchTagSet`.
    fn aws_unless(self, codes: &[&str], call: &str, target: &str) -> Result<Option<T>, ProviderError>;
}

impl<T, E> AwsResultExt<T> for Result<T, SdkError<E>>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    fn aws(self, call: &str, target: &str) -> Result<T, ProviderError> {
        self.map_err(|e| aws_error(call, target, e))
    }

    fn aws_unless(self, codes: &[&str], call: &str, target: &str) -> Result<Option<T>, ProviderError> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.code().is_some_and(|c| codes.contains(&c)) => Ok(None),
            Err(e) => Err(aws_error(call, target, e)),
        }
    }
}

/// `Ok(None)` for a NotFound error: reads report absence, deletes treat it as done.
pub(crate) fn optional<T>(result: Result<T, ProviderError>) -> Result<Option<T>, ProviderError> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.code == ErrorCode::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Maps an SDK builder error (a required field left unset: a bug here, not in the inputs).
pub(crate) fn build_error(e: impl std::fmt::Display) -> ProviderError {
    ProviderError::internal(format!("building an AWS request failed: {e}"))
}

/// Declared tags in the list shape of an SDK's `Tag` type, made by `tag`;
/// `None` when there are none, as some APIs refuse an empty tag list.
pub(crate) fn tag_list<T, E: std::fmt::Display>(
    tags: &std::collections::BTreeMap<String, String>,
    tag: impl Fn(&str, &str) -> Result<T, E>,
) -> Result<Option<Vec<T>>, ProviderError> {
    if tags.is_empty() {
        return Ok(None);
    }
    tags.iter().map(|(k, v)| tag(k, v).map_err(build_error)).collect::<Result<_, _>>().map(Some)
}

/// A string map (tags, labels) in the `HashMap` shape the SDKs take; `None`
/// when empty, as some APIs refuse an empty map.
pub(crate) fn map_or_none(
    map: &std::collections::BTreeMap<String, String>,
) -> Option<std::collections::HashMap<String, String>> {
    (!map.is_empty()).then(|| map.clone().into_iter().collect())
}

/// How long waiters wait, how often they poll, and the clock they do it
/// by: the SDK's sleep and time source traits, so tests run waiters (and
/// the SDK's retries) on virtual time.
#[derive(Debug, Clone)]
pub(crate) struct Waits {
    pub(crate) timeout: Duration,
    pub(crate) interval: Duration,
    pub(crate) sleep: SharedAsyncSleep,
    pub(crate) time: SharedTimeSource,
}

impl Waits {
    /// [`wait_timeout`] and [`POLL_INTERVAL`], on tokio's timer and the system clock.
    pub(crate) fn from_env() -> Self {
        Self {
            timeout: wait_timeout(),
            interval: POLL_INTERVAL,
            sleep: SharedAsyncSleep::new(TokioSleep::new()),
            time: SharedTimeSource::new(SystemTimeSource::new()),
        }
    }
}

/// Polls until `poll` says done, failing with DeadlineExceeded after the
/// timeout. `poll` fails the wait by returning an error (e.g. a FAILED status).
pub(crate) async fn wait_until<F, Fut>(what: &str, waits: &Waits, mut poll: F) -> Result<(), ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<bool, ProviderError>>,
{
    let Waits { timeout, interval, sleep, time } = waits;
    let deadline = time.now() + *timeout;
    loop {
        if poll().await? {
            return Ok(());
        }
        if time.now() + *interval > deadline {
            return Err(ProviderError::new(
                ErrorCode::DeadlineExceeded,
                format!(
                    "timed out after {} s waiting for {what} (raise {WAIT_TIMEOUT_ENV} to wait longer)",
                    timeout.as_secs()
                ),
            ));
        }
        tracing::debug!("waiting for {what}");
        sleep.sleep(*interval).await;
    }
}

/// The last status a waiter saw, so a timeout can say where things stood.
#[derive(Debug, Default)]
pub(crate) struct LastStatus(Mutex<Option<String>>);

impl LastStatus {
    /// Records a status.
    pub(crate) fn set(&self, status: &str) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(status.to_owned());
    }

    /// Adds the last status to a timeout error; other errors pass unchanged.
    pub(crate) fn explain(&self, mut e: ProviderError) -> ProviderError {
        if e.code == ErrorCode::DeadlineExceeded {
            let last = self.0.lock().unwrap_or_else(PoisonError::into_inner).clone();
            e.message = format!("{}; last status: {}", e.message, last.as_deref().unwrap_or("none seen"));
        }
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_codes_map_to_error_kinds() {
        assert_eq!(error_code_for("NoSuchEntity"), ErrorCode::NotFound);
        assert_eq!(error_code_for("NoSuchBucket"), ErrorCode::NotFound);
        assert_eq!(error_code_for("ResourceNotFoundException"), ErrorCode::NotFound);
        assert_eq!(error_code_for("AccessDenied"), ErrorCode::PermissionDenied);
        assert_eq!(error_code_for("MalformedPolicyDocument"), ErrorCode::InvalidArgument);
        assert_eq!(error_code_for("EntityAlreadyExists"), ErrorCode::Internal);
    }

    #[test]
    fn optional_swallows_not_found_only() {
        let nf: Result<(), _> = Err(ProviderError::new(ErrorCode::NotFound, "gone"));
        assert_eq!(optional(nf).unwrap(), None);
        let other: Result<(), _> = Err(ProviderError::internal("boom"));
        assert!(optional(other).is_err());
    }

    #[test]
    fn timeout_errors_carry_the_last_status() {
        let last = LastStatus::default();
        last.set("CREATING");
        let e = last.explain(ProviderError::new(ErrorCode::DeadlineExceeded, "timed out"));
        assert_eq!(e.message, "timed out; last status: CREATING");
        let other = last.explain(ProviderError::internal("boom"));
        assert_eq!(other.message, "boom");
    }
}
