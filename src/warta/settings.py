"""The one settings object. Built once from ``WARTA_*`` variables by the entry points
(CLI, API lifespan, tests) and passed down explicitly; nothing else reads the environment.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WARTA_", extra="ignore", frozen=True)

    # Where things live
    var_dir: Path = Field(Path("var"), description="Folder for the SQLite file and key file.")
    database_url: str = Field(
        "",
        description="SQLAlchemy URL. Empty means a SQLite file at $WARTA_VAR_DIR/warta.db. "
        "PostgreSQL: postgresql+psycopg://user@host/db",
    )
    database_pool_size: int = Field(10, description="Connections per process (PostgreSQL).")

    # HTTP
    host: str = Field("127.0.0.1", description="Address `warta serve` listens on.")
    port: int = Field(8000, description="Port `warta serve` listens on.")
    public_url: str = Field(
        "", description="Base URL used in links (uri, links.next). Empty: taken from the request."
    )

    # Secrets
    secret_key: str = Field(
        "",
        description="Base64 32-byte master key for personal data. Empty: a key file is "
        "generated at $WARTA_VAR_DIR/keys/secret.key on first start.",
        repr=False,
    )
    previous_secret_keys: str = Field(
        "",
        description="Comma-separated older master keys, still accepted for reading while "
        "`warta keys rotate` re-encrypts.",
        repr=False,
    )

    # Channels
    smtp_url: str = Field(
        "",
        description="smtp://user:pass@host:port or smtps://... Empty: a local capture SMTP "
        "server is started and shown at /dev/outbox.",
        repr=False,
    )
    smtp_pool_size: int = Field(4, description="Persistent SMTP connections per process.")
    smtp_timeout: float = Field(30.0, description="Seconds before an SMTP call gives up.")
    capture_smtp_port: int = Field(
        0, description="Port of the local capture SMTP server (0: any free port)."
    )
    email_from_domain: str = Field(
        "notifikasi.warta.go.id",
        description="Domain of an agency's default From address when it has none.",
    )
    bounce_domain: str = Field(
        "",
        description="Domain of each email's Return-Path (VERP) and of the one-click "
        "unsubscribe mailto: its MX must point at Warta's bounce listener. Empty: bounces go "
        "to the From address and Warta reads none (with the local capture server: the "
        "listener runs locally, under bounces.localhost).",
    )
    bounce_smtp_port: int = Field(
        0,
        description="Port of the bounce listener (SMTP, for WARTA_BOUNCE_DOMAIN's MX): 25 in "
        "production behind the MX; 0 picks a free port when the listener runs locally.",
    )
    bounce_smtp_host: str = Field(
        "0.0.0.0",
        description="Address the bounce listener listens on when WARTA_BOUNCE_DOMAIN is set "
        "(the local one, under bounces.localhost, always listens on 127.0.0.1).",
    )
    smpp_url: str = Field(
        "",
        description="SMS over SMPP 3.4: smpp://system_id:password@host:port?options, several "
        "separated by commas (see SMS providers). Empty, with no WARTA_SMS_HTTP_URL either: "
        "a local SMSC is started and shown at /dev/outbox.",
        repr=False,
    )
    sms_http_url: str = Field(
        "",
        description="SMS through Twilio-shaped HTTP gateways: "
        "https://account_sid:auth_token@host/?options, several separated by commas.",
        repr=False,
    )
    local_smsc_port: int = Field(
        0, description="Port of the local SMSC started when no SMS provider is set (0: any)."
    )
    # Push and chat: credentials are set with `warta channel set` (sealed in the store).
    vapid_subject: str = Field(
        "mailto:warta@localhost",
        description="Contact push services see in Web Push (VAPID `sub`): mailto: or https:.",
    )
    push_hosts: str = Field(
        "",
        description="Comma-separated push service hosts Web Push subscriptions may use "
        "(e.g. fcm.googleapis.com,updates.push.services.mozilla.com). Empty: any https host "
        "on a public address.",
    )
    fcm_url: str = Field("https://fcm.googleapis.com", description="FCM HTTP v1 base URL.")
    telegram_url: str = Field("https://api.telegram.org", description="Telegram Bot API base URL.")
    whatsapp_url: str = Field(
        "https://graph.facebook.com", description="WhatsApp Cloud API (Graph API) base URL."
    )
    local_app_peers: bool | None = Field(
        None,
        description="Start local FCM, Telegram and WhatsApp servers (shown at /dev/outbox) for "
        "each of them without credentials. Default: on when /dev/outbox is.",
    )
    dev_outbox: bool | None = Field(
        None,
        description=(
            "Serve /dev/outbox. Default: on when neither an SMTP relay nor an SMS provider "
            "is configured."
        ),
    )

    # Pipeline
    workers: int = Field(
        8,
        description="Concurrent delivery tasks in the embedded pool; with a broker, the "
        "Celery pool threads of each `warta worker`.",
    )
    batch_size: int = Field(100, description="Notification ids a worker claims at once.")
    lease_seconds: float = Field(
        300.0, description="How long a claimed notification belongs to its worker."
    )
    sweep_interval: float = Field(
        15.0, description="Seconds between sweeps for stuck or due notifications."
    )
    stuck_after: float = Field(
        60.0, description="A `created` notification unclaimed this long is re-queued."
    )
    retry_max_attempts: int = Field(
        15, description="Delivery attempts before giving up (about 5 hours of retries)."
    )
    retry_base_delay: float = Field(10.0, description="First retry delay in seconds.")
    retry_max_delay: float = Field(3600.0, description="Longest delay between retries.")
    shutdown_grace: float = Field(
        10.0, description="Seconds a stopping worker lets in-flight sends finish."
    )
    run_workers: bool = Field(True, description="Run the embedded workers inside `serve`.")
    upload_workers: int = Field(
        2,
        ge=0,
        description="Processes that read uploaded spreadsheets and check bulk sends' rows, "
        "away from the API's event loop. 0: in the API process itself (requests wait).",
    )
    worker_name: str = Field(
        "",
        description="This process's name in the leases it takes; keep it across restarts "
        "and unique among running processes. Empty: the host name.",
    )
    delivery_in_flight: int = Field(
        64,
        description="Sends per channel a process may have started and not yet recorded: "
        "after a crash, at most this many per channel are sent again.",
    )

    # Scale-out (docs/deploy.md): empty URLs keep everything inside one process.
    broker_url: str = Field(
        "",
        description="Celery broker (amqp://user:pass@host:5672//): deliveries, callbacks and "
        "fan-out run on `warta worker` processes, scheduled by one `warta beat`. Empty: the "
        "embedded worker pool inside `warta serve`.",
        repr=False,
    )
    redis_url: str = Field(
        "",
        description="Redis (redis://host:6379/0) for what processes must share: rate and "
        "daily limits, provider health, cache invalidation, throttles. Empty: kept in each "
        "process's memory (exact with one process).",
        repr=False,
    )
    namespace: str = Field(
        "warta",
        pattern=r"^[a-z0-9][a-z0-9_.-]{0,39}$",
        description="Prefix of queue names on the broker and of keys in Redis, so several "
        "deployments (or test runs) can share one broker and one Redis.",
    )

    cache_seconds: float = Field(
        5.0,
        description="How long a process may reuse an agency's keys and templates; a key "
        "revoked or a template edited in another process takes effect within this time (at "
        "once with WARTA_REDIS_URL, while Redis is up).",
    )

    # Limits (Notify's defaults)
    rate_limit_per_minute: int = Field(
        3000, description="Requests per minute per agency and key type."
    )
    daily_message_limit: int = Field(
        250_000, description="Default daily message limit for a new agency."
    )

    sms_receipt_hours: float = Field(
        72.0,
        description="Hours an SMS its provider accepted waits for a delivery receipt; then it "
        "ends `temporary-failure` (as GOV.UK Notify).",
    )

    # Cases (docs/cases.md): deadlines in Indonesian working days, as SP4N-LAPOR!
    case_verify_days: int = Field(
        3, ge=1, description="Working days to verify or forward a new case."
    )
    case_follow_up_days: int = Field(
        5,
        ge=1,
        description="Working days for the agency's follow-up once a case is verified, "
        "forwarded, in progress or reopened.",
    )
    case_close_days: int = Field(
        10,
        ge=1,
        description="Working days a resolved case (or one waiting for the citizen) stays open "
        "for the citizen's answer before it closes by itself.",
    )
    case_photo_max_bytes: int = Field(
        5_000_000, ge=1, description="Largest photo a citizen may attach to a case."
    )
    case_photos_per_case: int = Field(5, ge=0, description="Photos a case may have.")

    # Chatbot (docs/chatbot.md)
    chat_idle_minutes: float = Field(
        30.0, gt=0, description="Minutes without a message after which a chat starts afresh."
    )
    chat_history_days: float = Field(
        90.0, gt=0, description="Days the chat messages are kept (for hand-off and download)."
    )
    chat_per_minute: int = Field(
        20, ge=1, description="Messages one chat address may send the bot per minute."
    )

    # Callbacks
    callback_max_attempts: int = Field(6, description="Callback tries: the first and 5 retries.")
    callback_base_delay: float = Field(5.0, description="First callback retry delay (s).")
    callback_timeout: float = Field(10.0, description="Seconds per callback request.")

    log_level: str = Field("INFO", description="Python logging level.")
    log_json: bool = Field(False, description="Log one JSON object per line.")
    metrics_token: str = Field(
        "",
        description="Bearer token Prometheus sends to read `GET /metrics`. Empty: only "
        "clients on this host may read it.",
        repr=False,
    )

    @field_validator("log_level")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.var_dir / 'warta.db').as_posix()}"

    @property
    def effective_bounce_domain(self) -> str:
        """Where bounces come back: WARTA_BOUNCE_DOMAIN, else ``bounces.localhost`` while
        email goes to the local capture server (``make run``), else none."""
        if self.bounce_domain:
            return self.bounce_domain.strip().lower()
        return "" if self.smtp_url else "bounces.localhost"

    @property
    def start_local_app_peers(self) -> bool:
        if self.local_app_peers is not None:
            return self.local_app_peers
        return self.serve_dev_outbox

    @property
    def serve_dev_outbox(self) -> bool:
        if self.dev_outbox is not None:
            return self.dev_outbox
        return not (self.smtp_url or self.smpp_url or self.sms_http_url)
