//! The AWS wire protocols, spoken directly over reqwest: SigV4 signing with
//! `aws-sigv4`, credentials from `aws-config`'s standard chain, the query
//! protocol (EC2, ELBv2, IAM: form-encoded requests, XML responses) and the
//! JSON 1.1 protocol (ECS, Secrets Manager, SSM, Application Auto Scaling).
//!
//! Why not the official SDK crates: on these 2-core machines they take
//! minutes longer to build than the few dozen actions this provider needs.
//!
//! Retries follow the SDKs' standard mode: throttling codes, 5xx and
//! transport errors are retried with jittered exponential backoff, a bounded
//! number of times; but a request that creates an object is not sent again
//! after a 5xx any more than after a lost answer (the server may have acted
//! before it failed). Every attempt has deadlines (connect, read: the longest
//! wait for the next bytes of an answer, and the whole request), so an
//! endpoint that accepts connections and never answers fails a request
//! within its retry budget, with [`ENDPOINT_SILENT`]. Invariant: a request that creates an object is never
//! resent after it may have reached the server (a lost response); the
//! caller gets [`OUTCOME_UNKNOWN`] and looks for the object before trying
//! again, so a retry never creates a duplicate.

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use serde::de::DeserializeOwned;
use stackc_providers::ProviderError;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// Error code of a request whose outcome is unknown: it may have reached the
/// server, which may have acted, but no response came back.
pub const OUTCOME_UNKNOWN: &str = "RequestOutcomeUnknown";

/// Error code of a request that never reached the endpoint (connection
/// refused, no route, DNS failure) in all its attempts.
pub const ENDPOINT_UNREACHABLE: &str = "EndpointUnreachable";

/// Error code of a request whose every attempt connected but got no answer
/// within the read timeout (a silent endpoint, a proxy that holds
/// connections open).
pub const ENDPOINT_SILENT: &str = "EndpointTimeout";

/// How one AWS service is reached and spoken to.
#[derive(Clone, Copy, Debug)]
pub struct Service {
    /// SigV4 signing name.
    pub signing_name: &'static str,
    /// Host prefix of the regional endpoint.
    pub endpoint_prefix: &'static str,
    pub protocol: Protocol,
    /// True for IAM: one endpoint, signed for us-east-1.
    pub global: bool,
}

#[derive(Clone, Copy, Debug)]
pub enum Protocol {
    /// Form-encoded `Action=...&Version=...`, XML responses.
    Query { version: &'static str },
    /// `X-Amz-Target: <prefix>.<Action>`, JSON bodies.
    Json { target_prefix: &'static str },
    /// REST (S3): the method and path say what; XML errors.
    Rest,
}

/// The answer of a REST call: any status the server gave (the caller
/// decides what 404 or 412 mean), the ETag, the body.
#[derive(Debug)]
pub struct RestAnswer {
    pub status: u16,
    pub etag: Option<String>,
    pub body: Vec<u8>,
}

pub const EC2: Service = Service {
    signing_name: "ec2",
    endpoint_prefix: "ec2",
    protocol: Protocol::Query { version: "2016-11-15" },
    global: false,
};
pub const ELBV2: Service = Service {
    signing_name: "elasticloadbalancing",
    endpoint_prefix: "elasticloadbalancing",
    protocol: Protocol::Query { version: "2015-12-01" },
    global: false,
};
pub const IAM: Service = Service {
    signing_name: "iam",
    endpoint_prefix: "iam",
    protocol: Protocol::Query { version: "2010-05-08" },
    global: true,
};
pub const STS: Service = Service {
    signing_name: "sts",
    endpoint_prefix: "sts",
    protocol: Protocol::Query { version: "2011-06-15" },
    global: false,
};
pub const TAGGING: Service = Service {
    signing_name: "tagging",
    endpoint_prefix: "tagging",
    protocol: Protocol::Json { target_prefix: "ResourceGroupsTaggingAPI_20170126" },
    global: false,
};
pub const ECS: Service = Service {
    signing_name: "ecs",
    endpoint_prefix: "ecs",
    protocol: Protocol::Json { target_prefix: "AmazonEC2ContainerServiceV20141113" },
    global: false,
};
pub const SECRETS_MANAGER: Service = Service {
    signing_name: "secretsmanager",
    endpoint_prefix: "secretsmanager",
    protocol: Protocol::Json { target_prefix: "secretsmanager" },
    global: false,
};
pub const SSM: Service = Service {
    signing_name: "ssm",
    endpoint_prefix: "ssm",
    protocol: Protocol::Json { target_prefix: "AmazonSSM" },
    global: false,
};
/// S3 (REST): the remote state backend (`s3.rs`).
pub const S3: Service =
    Service { signing_name: "s3", endpoint_prefix: "s3", protocol: Protocol::Rest, global: false };
/// KMS: data keys for the encryption of the state at rest.
pub const KMS: Service = Service {
    signing_name: "kms",
    endpoint_prefix: "kms",
    protocol: Protocol::Json { target_prefix: "TrentService" },
    global: false,
};
pub const APP_AUTOSCALING: Service = Service {
    signing_name: "application-autoscaling",
    endpoint_prefix: "application-autoscaling",
    protocol: Protocol::Json { target_prefix: "AnyScaleFrontendService" },
    global: false,
};

/// Whether a request may be sent again after it may have reached the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Idempotency {
    /// Reads, upserts, modifications to a given value, deletes.
    Safe,
    /// Creates a new object each time it is served.
    Creates,
}

/// Standard-mode retry settings.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// Backoff before retry n is a random duration up to `base * 2^n`,
    /// capped at `max_delay`.
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(20),
        }
    }
}

/// Codes the SDKs treat as throttling: the request was refused, not served.
const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
];

/// Codes the SDKs retry as transient although the server may have acted
/// before it answered them (a create answered so is an unknown outcome).
const TRANSIENT_CODES: &[&str] =
    &["RequestTimeout", "RequestTimeoutException", "InternalError", "InternalFailure", "ServiceUnavailable"];

/// A signed-request client for every service the provider uses.
pub struct AwsClient {
    http: reqwest::Client,
    region: String,
    endpoint: Option<String>,
    credentials: SharedCredentialsProvider,
    cached: tokio::sync::Mutex<Option<Credentials>>,
    retry: RetryPolicy,
    calls: AtomicU64,
    calls_by_action: Mutex<BTreeMap<String, u64>>,
    account: tokio::sync::OnceCell<String>,
    /// Set when a request used all its attempts without ever connecting:
    /// later requests try once (not the whole retry budget each), so a
    /// dead endpoint fails a command in one budget, not one per request.
    /// Cleared by the next request that gets through.
    unreachable: std::sync::atomic::AtomicBool,
    /// Set when a request used all its attempts connected but unanswered:
    /// later requests of the command fail at once with the same error (one
    /// attempt each would still cost a read timeout each).
    silent: std::sync::OnceLock<ProviderError>,
    /// The read timeout of each attempt, for messages.
    read_timeout: Duration,
}

impl std::fmt::Debug for AwsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsClient").field("region", &self.region).field("endpoint", &self.endpoint).finish()
    }
}

impl AwsClient {
    pub fn new(
        http: reqwest::Client,
        region: String,
        endpoint: Option<String>,
        credentials: SharedCredentialsProvider,
        retry: RetryPolicy,
        read_timeout: Duration,
    ) -> AwsClient {
        AwsClient {
            http,
            region,
            endpoint: endpoint.map(|e| e.trim_end_matches('/').to_string()),
            credentials,
            cached: tokio::sync::Mutex::new(None),
            retry,
            calls: AtomicU64::new(0),
            calls_by_action: Mutex::new(BTreeMap::new()),
            account: tokio::sync::OnceCell::new(),
            unreachable: std::sync::atomic::AtomicBool::new(false),
            silent: std::sync::OnceLock::new(),
            read_timeout,
        }
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    /// The account the credentials belong to (STS GetCallerIdentity, asked
    /// once), for ARNs that EC2 does not return.
    pub async fn account_id(&self) -> Result<String, ProviderError> {
        #[derive(Default, serde::Deserialize)]
        struct Identity {
            #[serde(rename = "Account", default)]
            account: String,
        }
        self.account
            .get_or_try_init(|| async {
                let identity: Identity =
                    self.query_result(&STS, "GetCallerIdentity", &Params::new(), Idempotency::Safe).await?;
                Ok(identity.account)
            })
            .await
            .cloned()
    }

    /// Requests sent so far (every attempt counts).
    pub fn call_count(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// Requests sent so far by `service:Action`.
    pub fn calls_by_action(&self) -> BTreeMap<String, u64> {
        self.calls_by_action.lock().map(|m| m.clone()).unwrap_or_default()
    }

    fn url(&self, service: &Service) -> String {
        match &self.endpoint {
            Some(endpoint) => format!("{endpoint}/"),
            None if service.global => format!("https://{}.amazonaws.com/", service.endpoint_prefix),
            None => format!("https://{}.{}.amazonaws.com/", service.endpoint_prefix, self.region),
        }
    }

    fn signing_region<'a>(&'a self, service: &Service) -> &'a str {
        if service.global {
            "us-east-1"
        } else {
            &self.region
        }
    }

    async fn credentials(&self) -> Result<Credentials, ProviderError> {
        let mut cached = self.cached.lock().await;
        if let Some(credentials) = cached.as_ref() {
            let fresh = credentials.expiry().is_none_or(|expiry| {
                expiry.duration_since(SystemTime::now()).unwrap_or_default() > Duration::from_secs(300)
            });
            if fresh {
                return Ok(credentials.clone());
            }
        }
        let credentials = self.credentials.provide_credentials().await.map_err(|e| ProviderError {
            code: Some("NoCredentials".into()),
            message: format!(
                "no AWS credentials: {e} (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE with a \
                 shared credentials file)"
            ),
            retryable: false,
        })?;
        *cached = Some(credentials.clone());
        Ok(credentials)
    }

    /// A query-protocol call; `params` without Action and Version. Returns
    /// the response body (XML).
    pub async fn query(
        &self,
        service: &Service,
        action: &str,
        params: &Params,
        idempotency: Idempotency,
    ) -> Result<String, ProviderError> {
        let Protocol::Query { version } = service.protocol else {
            return Err(ProviderError::new(format!("{action}: not a query-protocol service")));
        };
        let body = {
            let mut body = form_urlencoded::Serializer::new(String::new());
            body.append_pair("Action", action).append_pair("Version", version);
            for (key, value) in &params.0 {
                body.append_pair(key, value);
            }
            body.finish()
        };
        let headers = [("content-type", "application/x-www-form-urlencoded; charset=utf-8".to_string())];
        self.send(service, action, &headers, body.into_bytes(), idempotency).await
    }

    /// A query call whose `<{action}Result>` element is deserialized.
    pub async fn query_result<T: DeserializeOwned + Default>(
        &self,
        service: &Service,
        action: &str,
        params: &Params,
        idempotency: Idempotency,
    ) -> Result<T, ProviderError> {
        let body = self.query(service, action, params, idempotency).await?;
        crate::xml::result_element(&body, action)
    }

    /// A query call (EC2 style: no Result wrapper) deserialized whole.
    pub async fn query_whole<T: DeserializeOwned>(
        &self,
        service: &Service,
        action: &str,
        params: &Params,
        idempotency: Idempotency,
    ) -> Result<T, ProviderError> {
        let body = self.query(service, action, params, idempotency).await?;
        crate::xml::whole(&body, action)
    }

    /// A JSON-protocol call.
    pub async fn json<T: DeserializeOwned>(
        &self,
        service: &Service,
        action: &str,
        request: &serde_json::Value,
        idempotency: Idempotency,
    ) -> Result<T, ProviderError> {
        let Protocol::Json { target_prefix } = service.protocol else {
            return Err(ProviderError::new(format!("{action}: not a JSON-protocol service")));
        };
        let headers = [
            ("content-type", "application/x-amz-json-1.1".to_string()),
            ("x-amz-target", format!("{target_prefix}.{action}")),
        ];
        let body = serde_json::to_vec(request).map_err(|e| ProviderError::new(format!("{action}: {e}")))?;
        let text = self.send(service, action, &headers, body, idempotency).await?;
        let text = if text.trim().is_empty() { "{}" } else { text.as_str() };
        serde_json::from_str(text).map_err(|e| ProviderError {
            code: Some("UnreadableResponse".into()),
            message: format!("{}:{action}: unreadable response: {e}", service.signing_name),
            retryable: false,
        })
    }

    async fn send(
        &self,
        service: &Service,
        action: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
        idempotency: Idempotency,
    ) -> Result<String, ProviderError> {
        let url = self.url(service);
        if let Some(silent) = self.silent.get() {
            return Err(silent.clone());
        }
        let max_attempts =
            if self.unreachable.load(Ordering::Relaxed) { 1 } else { self.retry.max_attempts.max(1) };
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            self.calls.fetch_add(1, Ordering::Relaxed);
            if let Ok(mut by_action) = self.calls_by_action.lock() {
                *by_action.entry(format!("{}:{action}", service.signing_name)).or_default() += 1;
            }
            let outcome = self.attempt(service, &url, headers, &body).await;
            let error = match outcome {
                Ok(text) => {
                    self.unreachable.store(false, Ordering::Relaxed);
                    return Ok(text);
                }
                Err(failure) => failure,
            };
            let (error, may_retry, reach) = match error {
                Failure::NotSent(e) => (e, true, Reach::Refused),
                Failure::Silent(e) if idempotency == Idempotency::Safe => (e, true, Reach::Silent),
                Failure::Lost(e) if idempotency == Idempotency::Safe => (e, true, Reach::Answered),
                Failure::Lost(e) | Failure::Silent(e) => {
                    return Err(ProviderError {
                        code: Some(OUTCOME_UNKNOWN.into()),
                        message: format!(
                            "{}:{action}: no response ({e}); the request may have been served",
                            service.signing_name
                        ),
                        retryable: true,
                    })
                }
                Failure::Server(e) if idempotency == Idempotency::Safe => (e, true, Reach::Answered),
                // A create answered 5xx may have made its object: the
                // caller looks for it before sending the create again.
                Failure::Server(e) => {
                    return Err(ProviderError {
                        code: Some(OUTCOME_UNKNOWN.into()),
                        message: format!(
                            "{}:{action}: the server failed ({}: {}); the request may have been served",
                            service.signing_name,
                            e.code.as_deref().unwrap_or("error"),
                            e.message
                        ),
                        retryable: true,
                    })
                }
                Failure::Api(e) => {
                    let retry = e.retryable;
                    (e, retry, Reach::Answered)
                }
            };
            if !may_retry || attempt >= max_attempts {
                match reach {
                    Reach::Answered => return Err(error),
                    Reach::Refused => {
                        self.unreachable.store(true, Ordering::Relaxed);
                        return Err(ProviderError {
                            code: Some(ENDPOINT_UNREACHABLE.into()),
                            message: format!(
                                "cannot connect to the AWS endpoint {url}: {}. Check the `endpoint` of the \
                                 `target \"aws\"` block or AWS_ENDPOINT_URL, and the network",
                                error.message
                            ),
                            retryable: true,
                        });
                    }
                    Reach::Silent => {
                        let silent = ProviderError {
                            code: Some(ENDPOINT_SILENT.into()),
                            message: format!(
                                "the AWS endpoint {url} accepted the connection but did not answer within {} \
                                 ({attempt} attempt{}). Check the `endpoint` of the `target \"aws\"` block or \
                                 AWS_ENDPOINT_URL, and any proxy or firewall between (one that holds \
                                 connections open looks like this)",
                                seconds(self.read_timeout),
                                if attempt == 1 { "" } else { "s" }
                            ),
                            retryable: true,
                        };
                        return Err(self.silent.get_or_init(|| silent).clone());
                    }
                }
            }
            tokio::time::sleep(self.backoff(attempt)).await;
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self
            .retry
            .base_delay
            .saturating_mul(1u32.checked_shl(attempt.min(20)).unwrap_or(u32::MAX))
            .min(self.retry.max_delay);
        let mut bytes = [0u8; 4];
        let fraction = if getrandom::fill(&mut bytes).is_ok() {
            f64::from(u32::from_le_bytes(bytes)) / f64::from(u32::MAX)
        } else {
            0.5
        };
        ceiling.mul_f64(fraction)
    }

    async fn attempt(
        &self,
        service: &Service,
        url: &str,
        headers: &[(&str, String)],
        body: &[u8],
    ) -> Result<String, Failure> {
        let settings = aws_sigv4::http_request::SigningSettings::default();
        let response = self.signed_send(service, "POST", url, headers, body, settings).await?;
        let status = response.status();
        let error_type =
            response.headers().get("x-amzn-errortype").and_then(|v| v.to_str().ok()).map(str::to_string);
        let text = match response.text().await {
            Ok(text) => text,
            Err(e) if e.is_timeout() => return Err(Failure::Silent(transport_error(&e))),
            Err(e) => return Err(Failure::Lost(transport_error(&e))),
        };
        if status.is_success() {
            return Ok(text);
        }
        let (code, message) = match service.protocol {
            Protocol::Query { .. } => crate::xml::error_code_and_message(&text),
            Protocol::Json { .. } => json_error(&text, error_type.as_deref()),
            Protocol::Rest => crate::xml::error_code_and_message(&text),
        };
        let code = code.unwrap_or_else(|| format!("Http{}", status.as_u16()));
        let throttled = status.as_u16() == 429 || THROTTLING_CODES.contains(&code.as_str());
        let retryable = status.is_server_error() || throttled || TRANSIENT_CODES.contains(&code.as_str());
        let message = if message.is_empty() { format!("HTTP {status}") } else { message };
        let error = ProviderError { code: Some(code), message, retryable };
        if status.is_server_error() && !throttled {
            return Err(Failure::Server(error));
        }
        Err(Failure::Api(error))
    }
}

impl AwsClient {
    /// The URL of `key` in `bucket`: path-style under a configured
    /// endpoint (moto, LocalStack, MinIO), virtual-hosted on AWS. Each
    /// segment of the key is percent-encoded.
    pub fn s3_url(&self, bucket: &str, key: &str) -> String {
        let key: Vec<String> = key.split('/').map(percent_encode).collect();
        let key = key.join("/");
        match &self.endpoint {
            Some(endpoint) => format!("{endpoint}/{bucket}/{key}"),
            None => format!("https://{bucket}.s3.{}.amazonaws.com/{key}", self.region),
        }
    }

    /// A REST call (S3): `method` on `url` with `headers` and `body`,
    /// signed with the payload's SHA-256 as S3 wants. Retried on a refused
    /// connection and on answers S3 says to retry (5xx, throttling, 409
    /// on a conditional write is the caller's); a request that may have
    /// been served is retried only when `idempotency` is `Safe`.
    pub async fn rest(
        &self,
        service: &Service,
        method: &str,
        url: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
        idempotency: Idempotency,
    ) -> Result<RestAnswer, ProviderError> {
        let action = method;
        let max_attempts =
            if self.unreachable.load(Ordering::Relaxed) { 1 } else { self.retry.max_attempts.max(1) };
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            self.calls.fetch_add(1, Ordering::Relaxed);
            if let Ok(mut by_action) = self.calls_by_action.lock() {
                *by_action.entry(format!("{}:{action}", service.signing_name)).or_default() += 1;
            }
            let (error, may_retry) = match self.rest_attempt(service, method, url, headers, &body).await {
                Ok(answer) if answer.status >= 500 || answer.status == 429 => {
                    let text = String::from_utf8_lossy(&answer.body);
                    let (code, message) = crate::xml::error_code_and_message(&text);
                    let message =
                        if message.is_empty() { format!("HTTP {}", answer.status) } else { message };
                    (ProviderError { code, message, retryable: true }, true)
                }
                Ok(answer) => {
                    self.unreachable.store(false, Ordering::Relaxed);
                    return Ok(answer);
                }
                Err(Failure::NotSent(e)) => (e, true),
                Err(Failure::Lost(e) | Failure::Silent(e) | Failure::Server(e))
                    if idempotency == Idempotency::Safe =>
                {
                    (e, true)
                }
                // A conditional write answered 5xx may have been applied: its
                // caller reads the object to tell, as after a lost answer.
                Err(Failure::Server(e)) => {
                    return Err(ProviderError {
                        code: Some(OUTCOME_UNKNOWN.into()),
                        message: format!(
                            "s3:{method} {url}: the server failed ({}: {}); the request may have been served",
                            e.code.as_deref().unwrap_or("error"),
                            e.message
                        ),
                        retryable: true,
                    })
                }
                Err(Failure::Lost(e) | Failure::Silent(e)) => {
                    return Err(ProviderError {
                        code: Some(OUTCOME_UNKNOWN.into()),
                        message: format!(
                            "s3:{method} {url}: no response ({e}); the request may have been served"
                        ),
                        retryable: true,
                    })
                }
                Err(Failure::Api(e)) => {
                    let retry = e.retryable;
                    (e, retry)
                }
            };
            if !may_retry || attempt >= max_attempts {
                return Err(error);
            }
            tokio::time::sleep(self.backoff(attempt)).await;
        }
    }

    /// Signs a request (SigV4 with `settings`, the current credentials) and
    /// sends it: one attempt, its failure classified by how far it got.
    async fn signed_send(
        &self,
        service: &Service,
        method: &str,
        url: &str,
        headers: &[(&str, String)],
        body: &[u8],
        settings: aws_sigv4::http_request::SigningSettings,
    ) -> Result<reqwest::Response, Failure> {
        let signing = |e: &dyn std::fmt::Display| Failure::Api(ProviderError::new(format!("signing: {e}")));
        let credentials = self.credentials().await.map_err(Failure::Api)?;
        let identity = credentials.into();
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region(self.signing_region(service))
            .name(service.signing_name)
            .time(SystemTime::now())
            .settings(settings)
            .build()
            .map_err(|e| signing(&e))?
            .into();
        let signable = aws_sigv4::http_request::SignableRequest::new(
            method,
            url,
            headers.iter().map(|(k, v)| (*k, v.as_str())),
            aws_sigv4::http_request::SignableBody::Bytes(body),
        )
        .map_err(|e| signing(&e))?;
        let (instructions, _signature) =
            aws_sigv4::http_request::sign(signable, &params).map_err(|e| signing(&e))?.into_parts();
        let method = reqwest::Method::from_bytes(method.as_bytes())
            .map_err(|e| Failure::Api(ProviderError::new(format!("method: {e}"))))?;
        let mut request = self.http.request(method, url).body(body.to_vec());
        for (name, value) in headers {
            request = request.header(*name, value.as_str());
        }
        for (name, value) in instructions.headers() {
            request = request.header(name, value);
        }
        match request.send().await {
            Ok(response) => Ok(response),
            Err(e) if e.is_connect() => Err(Failure::NotSent(connect_error(&e))),
            Err(e) if e.is_timeout() => Err(Failure::Silent(transport_error(&e))),
            Err(e) => Err(Failure::Lost(transport_error(&e))),
        }
    }

    async fn rest_attempt(
        &self,
        service: &Service,
        method: &str,
        url: &str,
        headers: &[(&str, String)],
        body: &[u8],
    ) -> Result<RestAnswer, Failure> {
        use sha2::Digest;
        let mut settings = aws_sigv4::http_request::SigningSettings::default();
        settings.payload_checksum_kind = aws_sigv4::http_request::PayloadChecksumKind::XAmzSha256;
        settings.percent_encoding_mode = aws_sigv4::http_request::PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = aws_sigv4::http_request::UriPathNormalizationMode::Disabled;
        let digest: String = sha2::Sha256::digest(body).iter().map(|b| format!("{b:02x}")).collect();
        let mut all: Vec<(&str, String)> = headers.to_vec();
        all.push(("x-amz-content-sha256", digest));
        let response = self.signed_send(service, method, url, &all, body, settings).await?;
        let status = response.status().as_u16();
        let etag = response.headers().get("etag").and_then(|v| v.to_str().ok()).map(str::to_string);
        let body = match response.bytes().await {
            Ok(body) => body.to_vec(),
            Err(e) if e.is_timeout() => return Err(Failure::Silent(transport_error(&e))),
            Err(e) => return Err(Failure::Lost(transport_error(&e))),
        };
        Ok(RestAnswer { status, etag, body })
    }
}

/// RFC 3986 percent-encoding of one path segment (unreserved characters kept).
fn percent_encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

enum Failure {
    /// The request certainly did not reach the server.
    NotSent(ProviderError),
    /// Sent, but the response never came back whole.
    Lost(ProviderError),
    /// Sent, and no answer (or no more of it) came within the timeouts.
    Silent(ProviderError),
    /// The server answered with an error.
    Api(ProviderError),
    /// The server answered 5xx (not a throttle): it may have acted before
    /// it failed, so only a request that is safe to repeat is sent again.
    Server(ProviderError),
}

/// How far the last attempt of a request got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reach {
    /// No connection.
    Refused,
    /// Connected, no answer in time.
    Silent,
    /// An answer (possibly an error, possibly cut short).
    Answered,
}

/// `20 s`, `1.5 s`.
fn seconds(duration: Duration) -> String {
    format!("{} s", (duration.as_secs_f64() * 10.0).round() / 10.0)
}

fn transport_error(e: &reqwest::Error) -> ProviderError {
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        message.push_str(": ");
        message.push_str(&inner.to_string());
        source = inner.source();
    }
    ProviderError { code: Some("TransportError".into()), message, retryable: true }
}

/// Why a connection could not be made: the error's causes, without the
/// request's URL (the caller names the endpoint once).
fn connect_error(e: &reqwest::Error) -> ProviderError {
    let mut causes = Vec::new();
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        causes.push(inner.to_string());
        source = inner.source();
    }
    let message = if causes.is_empty() { e.to_string() } else { causes.join(": ") };
    ProviderError { code: Some("TransportError".into()), message, retryable: true }
}

/// `{"__type": "prefix#Code:extra", "message": "..."}`.
fn json_error(text: &str, header: Option<&str>) -> (Option<String>, String) {
    let json: serde_json::Value = serde_json::from_str(text).unwrap_or(serde_json::Value::Null);
    let raw = json
        .get("__type")
        .or_else(|| json.get("code"))
        .and_then(|v| v.as_str())
        .or(header)
        .map(str::to_string);
    let code = raw.map(|raw| {
        let after_hash = raw.rsplit('#').next().unwrap_or(&raw).to_string();
        after_hash.split(':').next().unwrap_or(&after_hash).to_string()
    });
    let message = json
        .get("message")
        .or_else(|| json.get("Message"))
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string();
    (code, message)
}

/// Query-protocol parameters, in order (`Filter.1.Name`, `Tags.member.1.Key`).
#[derive(Clone, Debug, Default)]
pub struct Params(pub Vec<(String, String)>);

impl Params {
    pub fn new() -> Params {
        Params::default()
    }

    pub fn set(mut self, key: impl Into<String>, value: impl ToString) -> Params {
        self.0.push((key.into(), value.to_string()));
        self
    }

    pub fn push(&mut self, key: impl Into<String>, value: impl ToString) {
        self.0.push((key.into(), value.to_string()));
    }

    /// `prefix.1`, `prefix.2`, ... (EC2 lists: `VpcId.1`; ELB: `Names.member.1`).
    pub fn list<S: ToString>(mut self, prefix: &str, values: impl IntoIterator<Item = S>) -> Params {
        for (i, value) in values.into_iter().enumerate() {
            self.0.push((format!("{prefix}.{}", i + 1), value.to_string()));
        }
        self
    }
}
