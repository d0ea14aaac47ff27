//! Canned answers to SDK calls: a rule names one operation (by its input
//! type), may match on the request, and gives typed outputs, modeled errors
//! or bare HTTP statuses, one per attempt.
//!
//! Why not `aws-smithy-mocks`: it turns on the `test-util` feature of
//! `aws-smithy-http-client`, the HTTP client every SDK crate is built on. A
//! feature only the test build has gives the test build its own copy of the
//! whole AWS SDK, compiled again after `cargo xtask demo` or `cargo run` and
//! back (see `docs/building.md`). These rules need only the SDK's public
//! interceptor and HTTP client traits, which every build has.

use std::fmt;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use aws_smithy_async::rt::sleep::{AsyncSleep, Sleep};
use aws_smithy_async::time::TimeSource;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextMut, Error,
    FinalizerInterceptorContextMut, Input, Output,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse, OrchestratorError};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};

/// A rule for one operation of a client, typed from the client's method:
/// `rule!(aws_sdk_eks::Client::describe_cluster)`. The method is never
/// called; it only tells the compiler the operation's input, output and
/// error types.
macro_rules! rule {
    ($operation:expr) => {{
        #[allow(unreachable_code, clippy::diverging_sub_expression, clippy::todo)]
        {
            $crate::canned::rules::RuleBuilder::for_operation(
                || $operation(todo!()).as_input().clone().build().unwrap(),
                || $operation(todo!()).send(),
            )
        }
    }};
}
pub(crate) use rule;

/// One attempt's answer.
enum Answer {
    Output(Box<dyn Fn() -> Output + Send + Sync>),
    Error(Box<dyn Fn() -> Error + Send + Sync>),
    /// A bare HTTP status with an empty body, deserialized as the SDK would.
    Status(u16),
}

struct RuleInner {
    operation: &'static str,
    matches: Box<dyn Fn(&Input) -> bool + Send + Sync>,
    answers: Vec<Answer>,
    /// `then_*` rules give their one answer for ever (once, when rules must be
    /// met in order); rules built with `build` give each answer once.
    repeats: bool,
    calls: AtomicUsize,
}

/// A built rule; clones share their answers and their count of calls.
#[derive(Clone)]
pub(crate) struct Rule(Arc<RuleInner>);

impl fmt::Debug for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rule for {} ({} calls)", self.0.operation, self.num_calls())
    }
}

impl Rule {
    /// How many attempts this rule has answered.
    pub(crate) fn num_calls(&self) -> usize {
        self.0.calls.load(Ordering::SeqCst)
    }

    /// Whether the rule can answer no more calls; `in_order` rules that
    /// repeat answer once.
    fn exhausted(&self, in_order: bool) -> bool {
        let limit = if self.0.repeats && !in_order { usize::MAX } else { self.0.answers.len() };
        self.num_calls() >= limit
    }

    /// The next attempt's answer.
    fn next(&self) -> &Answer {
        let call = self.0.calls.fetch_add(1, Ordering::SeqCst);
        match self.0.answers.get(call) {
            Some(answer) => answer,
            None if self.0.repeats => self.0.answers.last().expect("a rule has an answer"),
            None => {
                panic!("{} was called more often than its {} canned answers", self.0.operation, self.0.answers.len())
            }
        }
    }
}

/// An operation's types, held by a builder without holding values of them.
type Operation<I, O, E> = fn() -> (I, O, E);

/// Builds a [`Rule`] for the operation with input `I`, output `O` and error `E`.
pub(crate) struct RuleBuilder<I, O, E> {
    matches: Box<dyn Fn(&I) -> bool + Send + Sync>,
    answers: Vec<Answer>,
    types: PhantomData<Operation<I, O, E>>,
}

impl<I, O, E> RuleBuilder<I, O, E>
where
    I: fmt::Debug + Send + Sync + 'static,
    O: fmt::Debug + Send + Sync + 'static,
    E: std::error::Error + fmt::Debug + Send + Sync + 'static,
{
    /// A rule for the operation whose input `input` and whose sending `send`
    /// would make; see [`rule!`].
    pub(crate) fn for_operation<R, F>(_input: impl Fn() -> I, _send: impl Fn() -> F) -> Self
    where
        F: Future<Output = Result<O, SdkError<E, R>>>,
    {
        Self { matches: Box::new(|_| true), answers: Vec::new(), types: PhantomData }
    }

    /// Answers only requests for which `matches` holds.
    pub(crate) fn match_requests(mut self, matches: impl Fn(&I) -> bool + Send + Sync + 'static) -> Self {
        self.matches = Box::new(matches);
        self
    }

    /// The next attempt gets this output.
    pub(crate) fn output(mut self, output: impl Fn() -> O + Send + Sync + 'static) -> Self {
        self.answers.push(Answer::Output(Box::new(move || Output::erase(output()))));
        self
    }

    /// The next attempt gets this modeled error.
    pub(crate) fn error(mut self, error: impl Fn() -> E + Send + Sync + 'static) -> Self {
        self.answers.push(Answer::Error(Box::new(move || Error::erase(error()))));
        self
    }

    /// The next attempt gets this HTTP status and an empty body.
    pub(crate) fn status(mut self, status: u16) -> Self {
        self.answers.push(Answer::Status(status));
        self
    }

    /// A rule giving each answer once, in order.
    pub(crate) fn build(self) -> Rule {
        self.finish(false)
    }

    /// A rule always giving this output.
    pub(crate) fn then_output(self, output: impl Fn() -> O + Send + Sync + 'static) -> Rule {
        self.output(output).finish(true)
    }

    /// A rule always giving this error.
    pub(crate) fn then_error(self, error: impl Fn() -> E + Send + Sync + 'static) -> Rule {
        self.error(error).finish(true)
    }

    fn finish(self, repeats: bool) -> Rule {
        assert!(!self.answers.is_empty(), "a rule needs an answer");
        let matches = self.matches;
        Rule(Arc::new(RuleInner {
            operation: std::any::type_name::<I>(),
            matches: Box::new(move |input| input.downcast_ref::<I>().is_some_and(&matches)),
            answers: self.answers,
            repeats,
            calls: AtomicUsize::new(0),
        }))
    }
}

/// The rule an operation matched, kept for its attempts.
#[derive(Debug, Clone)]
struct Chosen(Rule);

impl Storable for Chosen {
    type Storer = StoreReplace<Self>;
}

/// The modeled answer of the current attempt, put in place of what the SDK
/// made of the canned HTTP response.
struct Modeled(Rule, usize);

impl fmt::Debug for Modeled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "answer {} of {:?}", self.1, self.0)
    }
}

impl Storable for Modeled {
    type Storer = StoreReplace<Self>;
}

/// The request header carrying a [`Answer::Status`] to [`CannedHttp`].
const STATUS_HEADER: &str = "x-cairn-canned-status";

/// The interceptor answering a client's calls from its rules. A call no rule
/// answers fails the test.
#[derive(Debug)]
pub(crate) struct Canned {
    rules: Vec<Rule>,
    /// Rules must be met in this exact order.
    in_order: bool,
    next: Mutex<usize>,
}

impl Canned {
    pub(crate) fn new(rules: &[&Rule], in_order: bool) -> Self {
        Self { rules: rules.iter().map(|r| (*r).clone()).collect(), in_order, next: Mutex::new(0) }
    }

    fn choose(&self, input: &Input) -> Rule {
        if self.in_order {
            let mut next = self.next.lock().unwrap_or_else(PoisonError::into_inner);
            while self.rules.get(*next).is_some_and(|r| r.exhausted(true)) {
                *next += 1;
            }
            let rule = self.rules.get(*next).unwrap_or_else(|| panic!("no canned rule left for {input:?}"));
            assert!((rule.0.matches)(input), "the next canned rule, {rule:?}, does not match {input:?}");
            rule.clone()
        } else {
            let rule = self.rules.iter().find(|r| !r.exhausted(false) && (r.0.matches)(input));
            rule.unwrap_or_else(|| panic!("no canned rule answers {input:?}")).clone()
        }
    }
}

impl Intercept for Canned {
    fn name(&self) -> &'static str {
        "canned answers"
    }

    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let rule = self.choose(context.input());
        cfg.interceptor_state().store_put(Chosen(rule));
        Ok(())
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Chosen(rule) = cfg.load::<Chosen>().expect("a rule was chosen before serialization").clone();
        let index = rule.num_calls();
        match rule.next() {
            Answer::Status(status) => {
                context.request_mut().headers_mut().insert(STATUS_HEADER, status.to_string());
                cfg.interceptor_state().unset::<Modeled>();
            }
            Answer::Output(_) | Answer::Error(_) => {
                let index = index.min(rule.0.answers.len() - 1);
                cfg.interceptor_state().store_put(Modeled(rule, index));
            }
        }
        Ok(())
    }

    fn modify_before_attempt_completion(
        &self,
        context: &mut FinalizerInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(Modeled(rule, index)) = cfg.load::<Modeled>() {
            match &rule.0.answers[*index] {
                Answer::Output(output) => context.inner_mut().set_output_or_error(Ok(output())),
                Answer::Error(error) => {
                    context.inner_mut().set_output_or_error(Err(OrchestratorError::operation(error())))
                }
                Answer::Status(_) => {}
            }
        }
        Ok(())
    }
}

/// The HTTP client of canned clients: it answers every request with an empty
/// body, and the status a rule asked for (200 otherwise; the interceptor puts
/// the modeled answer in place afterwards).
#[derive(Debug, Clone, Copy)]
pub(crate) struct CannedHttp;

impl HttpClient for CannedHttp {
    fn http_connector(&self, _: &HttpConnectorSettings, _: &RuntimeComponents) -> SharedHttpConnector {
        SharedHttpConnector::new(*self)
    }
}

impl HttpConnector for CannedHttp {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let status = request.headers().get(STATUS_HEADER).and_then(|s| s.parse::<u16>().ok()).unwrap_or(200);
        let status = StatusCode::try_from(status).expect("a canned status is a valid HTTP status");
        HttpConnectorFuture::ready(Ok(HttpResponse::new(status, SdkBody::empty())))
    }
}

/// Virtual time for the provider's waiters: a sleep moves the clock forward
/// at once, so waiter limits are tested without waiting, and without tokio's
/// `test-util` feature (which would split the build as `aws-smithy-mocks`
/// would). Only for sleeps that are awaited to the end, as a waiter's are:
/// the SDK's own timeouts race a sleep, so its clients keep real time.
#[derive(Debug, Clone)]
pub(crate) struct VirtualClock(Arc<Mutex<SystemTime>>);

impl VirtualClock {
    pub(crate) fn new() -> Self {
        Self(Arc::new(Mutex::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000))))
    }
}

impl TimeSource for VirtualClock {
    fn now(&self) -> SystemTime {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl AsyncSleep for VirtualClock {
    fn sleep(&self, duration: Duration) -> Sleep {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) += duration;
        Sleep::new(std::future::ready(()))
    }
}
