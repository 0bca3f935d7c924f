"""`Emulator`: the whole emulated Microsoft 365 in a background thread, as a context manager.

    with Emulator(tenants=3, users_per_tenant=50, seed=7) as emu:
        m365 = connect(emu.config_path)

It builds (or loads) the world before it listens, binds the port in the caller's thread so
`graph_url` is known at once, serves on its own asyncio/Tornado loop, saves changed tenants
every few seconds and at exit, and writes a ready-to-use `m365dash.toml` (mode 0600).
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

import requests
import tornado.httpserver
import tornado.ioloop
import tornado.netutil

from .access import apply_demo_traps, service_principal_id
from .faults import ExchangeWrite, Faults, Stats
from .identity import EXCHANGE_AUDIENCE, Identity, ensure_certificate
from .replication import Replication
from .server import ServerState, make_app, ssl_context
from .world import World

log = logging.getLogger(__name__)
SAVE_EVERY_MS = 2000


class EmulatorSession(requests.Session):
    """A session for one tenant: bearer token kept fresh, the emulator's CA always verified.

    `REQUESTS_CA_BUNDLE` in the environment overrides `Session.verify`, so the CA file is passed
    on every request instead.
    """

    def __init__(self, emulator: "Emulator", tenant_id: str):
        super().__init__()
        self._emulator, self._tenant_id = emulator, tenant_id
        self._ca = str(emulator.ca_file)
        self._expires = 0.0
        self._refresh()

    def _refresh(self) -> None:
        lifetime = self._emulator.token_lifetime
        self.headers["Authorization"] = f"Bearer {self._emulator.token(self._tenant_id)}"
        self._expires = time.time() + lifetime

    def request(self, method, url, **kwargs):
        if kwargs.get("verify") in (None, True):
            kwargs["verify"] = self._ca
        if time.time() > self._expires - min(60.0, self._emulator.token_lifetime / 2):
            self._refresh()
        kwargs.setdefault("timeout", 60)
        return super().request(method, url, **kwargs)


class Emulator:
    def __init__(self, tenants: int = 6, users_per_tenant: int | None = None, seed: int = 7,
                 groups_per_tenant: int = 20, state_dir=None, host: str = "127.0.0.1",
                 port: int = 0, latency_ms: float = 0, throttle_rate: float = 0.0,
                 error_rate: float = 0.0, drop_after_write_rate: float = 0.0,
                 token_lifetime: int = 3600, access_traps: bool = False,
                 replication_lag: float = 0.0):
        if tenants < 0 or (users_per_tenant is not None and users_per_tenant < 1):
            raise ValueError("tenants must be >= 0 and users_per_tenant >= 1")
        self.tenants, self.users_per_tenant, self.seed = tenants, users_per_tenant, seed
        self.groups_per_tenant, self.host, self.port = groups_per_tenant, host, port
        self.token_lifetime = int(token_lifetime)
        # Tenants that lack a permission, Entra ID P1 or consent (emulator/access.py); off by
        # default so worlds stay fully granted unless a test or the demo asks for the traps.
        self.access_traps = bool(access_traps)
        self.traps: dict[str, str] = {}
        self._faults = Faults(seed, latency_ms=latency_ms, throttle_rate=throttle_rate,
                              error_rate=error_rate, drop_after_write_rate=drop_after_write_rate)
        self._stats = Stats()
        # Seconds (on average) a new user may answer 404 to follow-up calls (replication.py);
        # 0, off, for test worlds unless they opt in; the demo world turns it on.
        self._replication = Replication(seed, replication_lag)
        self._state_dir, self._temporary = state_dir, state_dir is None
        self._thread: threading.Thread | None = None
        self._loop: tornado.ioloop.IOLoop | None = None
        self._stopped = threading.Event()

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> "Emulator":
        if self._thread is not None:
            raise RuntimeError("the emulator is already running")
        if self._temporary:
            self._state_dir = tempfile.mkdtemp(prefix="m365emu-")
        self.state_dir = Path(self._state_dir).expanduser().resolve()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        cert, key = ensure_certificate(self.state_dir, hosts=(self.host,))
        self.ca_file = cert
        self.identity = Identity(self.state_dir, self.token_lifetime)
        self.world = World(seed=self.seed, tenants=self.tenants,
                           users_per_tenant=self.users_per_tenant,
                           groups_per_tenant=self.groups_per_tenant, state_dir=self.state_dir)
        self.world.build_all()
        sockets = tornado.netutil.bind_sockets(self.port, self.host)
        self.port = sockets[0].getsockname()[1]
        shown = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        shown = f"[{shown}]" if ":" in shown else shown
        self.authority_host = f"https://{shown}:{self.port}"
        self.graph_url = f"{self.authority_host}/v1.0"
        self.exchange_url = f"{self.authority_host}/adminapi/beta"   # Exchange Online's admin API
        self._server_state = ServerState(self.world, self.identity, self._faults, self._stats,
                                         self.graph_url, self.authority_host,
                                         replication=self._replication)
        if self.access_traps:
            self.traps = apply_demo_traps(self._server_state.access, self.world.customers)
        self.config_path = self._write_config()
        ready = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(target=self._serve, args=(sockets, ready, failure),
                                        name="m365-emulator", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            self._thread = None
            raise RuntimeError("the emulator could not start") from failure[0]
        self.start_seconds = time.monotonic() - started
        log.info("emulator ready at %s (%d tenants)", self.graph_url, len(self.world.served))
        return self

    def _serve(self, sockets, ready: threading.Event, failure: list) -> None:
        asyncio.set_event_loop(asyncio.new_event_loop())
        loop = tornado.ioloop.IOLoop.current()
        try:
            app = make_app(self._server_state)
            server = tornado.httpserver.HTTPServer(
                app, ssl_options=ssl_context(self.ca_file, self.state_dir / "emulator-ca.key"),
                idle_connection_timeout=120, max_body_size=64 * 1024 * 1024)
            server.add_sockets(sockets)
            saver = tornado.ioloop.PeriodicCallback(self.world.save, SAVE_EVERY_MS)
            saver.start()
        except Exception as exc:  # reported to start(), which raises it in the caller's thread
            failure.append(exc)
            ready.set()
            return
        self._loop = loop
        self._http = server
        self._saver = saver
        ready.set()
        try:
            loop.start()
        finally:
            loop.close(all_fds=True)
            self._stopped.set()

    async def _shutdown(self) -> None:
        self._saver.stop()
        self._http.stop()
        await self._http.close_all_connections()
        self.world.save()
        self._loop.stop()

    def stop(self) -> None:
        if self._thread is None:
            return
        if self._loop is not None:
            self._loop.add_callback(self._shutdown)
        self._thread.join(timeout=30)
        self._thread = None
        if self._temporary:
            shutil.rmtree(self.state_dir, ignore_errors=True)

    def __enter__(self) -> "Emulator":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _call(self, fn, *args):
        """Run `fn` on the server thread (where the world lives) and return its result."""
        if self._loop is None or self._thread is None:
            return fn(*args)
        future: concurrent.futures.Future = concurrent.futures.Future()

        def run():
            try:
                future.set_result(fn(*args))
            except Exception as exc:  # handed back to the calling thread
                future.set_exception(exc)
        self._loop.add_callback(run)
        return future.result(timeout=60)

    # -- what clients need ------------------------------------------------------------------
    @property
    def client_id(self) -> str:
        return self.identity.client_id

    @property
    def client_secret(self) -> str:
        return self.identity.client_secret

    def register_certificate(self, pem: bytes | str) -> str:
        """Upload a certificate (PEM; its public part is kept) to the app registration, as in
        Entra's Certificates & secrets; returns its SHA-1 thumbprint (upper-case hex). Token
        requests may then sign a client assertion with its private key."""
        return self._call(self.identity.register_certificate, pem)

    @property
    def partner_tenant_id(self) -> str:
        return self.world.partner.id

    @property
    def tenant_ids(self) -> list[str]:
        return [info.id for info in self.world.customers]

    def token(self, tenant_id: str, lifetime: int | None = None) -> str:
        """A valid access token for a tenant (a negative lifetime gives an expired one)."""
        access = self._server_state.access.get(tenant_id)
        return self.identity.issue(tenant_id, lifetime, roles=sorted(access.granted))[0]

    def exchange_token(self, tenant_id: str, lifetime: int | None = None) -> str:
        """A valid Exchange Online token for a tenant (audience https://outlook.office365.com,
        `roles` ["Exchange.ManageAsApp"] unless withdrawn with set_access)."""
        access = self._server_state.access.get(tenant_id)
        return self.identity.issue(tenant_id, lifetime, roles=access.exchange_roles(),
                                   audience=EXCHANGE_AUDIENCE)[0]

    def session(self, tenant_id: str) -> EmulatorSession:
        return EmulatorSession(self, tenant_id)

    def _write_config(self) -> Path:
        path = self.state_dir / "m365dash.toml"
        q = json.dumps          # a JSON string is a valid TOML basic string
        text = (
            "# Written by the m365dash emulator; points the dashboard at it.\n"
            "[graph]\n"
            f"authority_host = {q(self.authority_host)}\n"
            f"graph_url = {q(self.graph_url)}\n"
            f"exchange_url = {q(self.exchange_url)}\n"
            f"client_id = {q(self.client_id)}\n"
            f"client_secret = {q(self.client_secret)}\n"
            f"partner_tenant_id = {q(self.partner_tenant_id)}\n"
            f"partner_center_url = {q(self.authority_host + '/partnercenter')}\n"
            f"ca_file = {q(str(self.ca_file))}\n"
            "[store]\n"
            f"url = {q('sqlite:///' + str(self.state_dir / 'store.db'))}\n")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(path, 0o600)
        return path

    # -- runtime controls -------------------------------------------------------------------
    def stats(self) -> dict:
        return {**self._stats.snapshot(), "replication_404": self._replication.misses}

    @property
    def replication_lag(self) -> float:
        return self._replication.lag

    def set_replication_lag(self, seconds: float) -> None:
        """Users created from now on may answer 404 to follow-up calls for about `seconds`."""
        if seconds < 0:
            raise ValueError("replication_lag must be >= 0 seconds")
        self._replication.lag = float(seconds)

    def writes(self, tenant_id: str | None = None) -> list[tuple[str, str, str]]:
        """Every successful Graph write so far as (tenant id, method, path), in order; each
        item of a $batch counts on its own."""
        return [w for w in self._stats.writes() if tenant_id is None or w[0] == tenant_id]

    def exchange_writes(self, tenant_id: str | None = None) -> list[ExchangeWrite]:
        """Every successful Exchange Online write cmdlet so far (Set-/Add-/Remove-), in order, as
        ExchangeWrite(tenant_id, cmdlet, parameters, changed): `parameters` as sent, `changed`
        False when Exchange found nothing to do (a warning). Not part of `writes()`. Count one
        cmdlet with `sum(w.cmdlet == "Set-Mailbox" for w in emu.exchange_writes(tid))`."""
        return [w for w in self._stats.exchange_writes() if tenant_id is None or w.tenant_id == tenant_id]

    def large_mailbox(self, tenant_id: str) -> str | None:
        """UPN of the tenant's one demo mailbox over 50 GB (emulator/exchange_demo.py)."""
        def find():
            from .exchange import state
            tenant = self.world.tenant(tenant_id)
            user = tenant.users.get(state(tenant).large or "")
            return user.p["userPrincipalName"] if user is not None else None
        return self._call(find)

    def shared_mailboxes(self, tenant_id: str) -> list[str]:
        """UPNs of the tenant's shared mailboxes (the demo's info@ and reception@ first)."""
        def find():
            from .exchange import SHARED, mailbox_kind, mailboxes, state
            tenant = self.world.tenant(tenant_id)
            found = [u for u in mailboxes(tenant) if mailbox_kind(tenant, u) == SHARED]
            demo = state(tenant).shared
            found.sort(key=lambda u: demo.index(u.id.lower()) if u.id.lower() in demo else len(demo))
            return [u.p["userPrincipalName"] for u in found]
        return self._call(find)

    def mailbox(self, tenant_id: str, identity: str) -> dict | None:
        """The mailbox as Get-Mailbox shows it, plus what Exchange keeps about it: `FullAccess`
        [{"User": upn, "AutoMapping": bool}], `SendAs` [upn], `TotalItemSizeBytes`, `ItemCount`;
        None when the user (UPN, address, alias or id) has no mailbox."""
        def find():
            from . import exchange as X
            tenant = self.world.tenant(tenant_id)
            user = X.find_user(tenant, identity)
            if not X.has_mailbox(tenant, user):
                return None
            entry = X.state(tenant).mailboxes.get(user.id.lower(), {})
            size, items = X.size_of(tenant, user)
            full = [{"User": X.principal_name(tenant, g["id"]), "AutoMapping": g.get("automap", True)}
                    for g in entry.get("full", []) if X.principal_name(tenant, g["id"])]
            send_as = [X.principal_name(tenant, g["id"]) for g in entry.get("send_as", [])
                       if X.principal_name(tenant, g["id"])]
            return {**X.mailbox_view(tenant, user), "FullAccess": full, "SendAs": send_as,
                    "TotalItemSizeBytes": size, "ItemCount": items}
        return self._call(find)

    def set_faults(self, *, latency_ms=None, throttle_rate=None, error_rate=None,
                   drop_after_write_rate=None) -> None:
        self._faults.set(latency_ms=latency_ms, throttle_rate=throttle_rate,
                         error_rate=error_rate, drop_after_write_rate=drop_after_write_rate)

    def faults(self) -> dict:
        return self._faults.settings()

    def deny_tenant(self, tenant_id: str, status: int = 403) -> None:
        """Every Graph (and Exchange Online) call of this tenant answers `status` (403: no
        consent) until allowed."""
        self._server_state.denied[tenant_id] = int(status)

    def set_access(self, tenant_id: str, *, granted=None, withdraw=(), consent="keep",
                   premium=None, directory_roles=None, intune=None,
                   exchange_permission=None) -> None:
        """Change what the app may do in one tenant from now on (emulator/access.py):
        `granted` (the whole set) or `withdraw` (application permissions), `consent` (None:
        consented; 700016 or 65001: the token endpoint refuses with that AADSTS code),
        `premium` (Entra ID P1), `intune` (an Intune license: without it managed devices answer
        400 "Request not applicable to target tenant."), `directory_roles` (built-in role names
        held by the app; Exchange Online needs "Exchange Administrator" or "Global
        Administrator", else 403), `exchange_permission` (False: Exchange.ManageAsApp withdrawn,
        the Exchange token has no `roles` and InvokeCommand answers 401).
        Tokens issued before keep their `roles` claim, as Entra's do: get a new token."""
        self._call(lambda: self._server_state.access.set(
            tenant_id, granted=granted, withdraw=withdraw, consent=consent, premium=premium,
            directory_roles=directory_roles, intune=intune, exchange=exchange_permission))

    def throttle_partner_center(self, times: int = 1, retry_after: int = 1) -> None:
        """The next `times` Partner Center consent calls answer 429 with Retry-After."""
        def apply():
            self._server_state.partner_center.throttle = int(times)
            self._server_state.partner_center.retry_after = int(retry_after)
        self._call(apply)

    def partner_center_requests(self) -> list[tuple[str, str, int]]:
        """(method, customer tenant id, status) of every Partner Center consent call so far."""
        return self._call(lambda: list(self._server_state.partner_center.requests))

    def service_principal_id(self, tenant_id: str) -> str:
        return service_principal_id(tenant_id, self.client_id)

    def allow_tenant(self, tenant_id: str) -> None:
        self._server_state.denied.pop(tenant_id, None)

    def expire_tokens(self, tenant_id: str | None = None, after_requests: int = 0) -> None:
        """Make the access tokens issued so far expire (one tenant's, or every tenant's).

        With `after_requests=N` (one tenant only), the tenant's next N Graph requests are served
        and the one after them finds its token expired (401 InvalidAuthenticationToken): a token
        running out in the middle of a job (Graph tokens only; the tenant's Exchange Online
        token keeps its own lifetime). Tokens issued afterwards are valid.
        """
        if after_requests:
            if not tenant_id:
                raise ValueError("after_requests needs a tenant_id")
            self._call(self._server_state.expire_after.__setitem__, tenant_id, int(after_requests))
            return
        self._call(self.identity.expire, tenant_id)

    def expire_delta_tokens(self) -> None:
        """Every delta and skip token handed out so far answers 410 Gone from now on."""
        self._call(self.world.expire_delta_tokens)

    def save(self) -> int:
        """Write changed tenants to the state folder now; returns how many."""
        return self._call(self.world.save)
