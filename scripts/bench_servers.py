"""What the read and write benchmarks share: a PostgreSQL database seeded at scale, servers
started on loopback ports (ours, the best case of our stack, PostGraphile v4), a token of an
API client of the seeded organization, and wrk driving one GraphQL request."""

import contextlib
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import make_url

SCRIPTS = Path(__file__).resolve().parent
ROOT = SCRIPTS.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def plain_dsn(url: str) -> str:
    """``postgresql://…`` for asyncpg and Node from our ``postgresql+asyncpg://…``."""
    return re.sub(r"^postgresql\+\w+://", "postgresql://", url)


def _admin(url: str) -> str:
    """psql's URL of the cluster's ``postgres`` database (the URL's query, a Unix socket's
    directory say, kept)."""
    admin = make_url(url).set(drivername="postgresql", database="postgres")
    return admin.render_as_string(hide_password=False)


def fresh_database(url: str, name: str) -> str:
    """The URL of database ``name`` on ``url``'s cluster, dropped if it was there and made anew."""
    for statement in (f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}"):
        subprocess.run(["psql", _admin(url), "-qc", statement], check=True, capture_output=True)
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str, name: str) -> None:
    subprocess.run(["psql", _admin(url), "-qc", f"DROP DATABASE {name}"], check=True, capture_output=True)


def our_env(database_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        RMA_GRAPHIQL="false",
        RMA_RATE_LIMIT_PER_MINUTE="1000000000",
        RMA_RATE_LIMIT_PER_SECOND="1000000000",
        RMA_LOG_LEVEL="warning",
    )
    return env


def cli(env: dict[str, str], *args: str) -> str:
    command = [sys.executable, "-m", "rma_graphql.startup", *args]
    return subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout


def client_credentials(env: dict[str, str], organization: str) -> tuple[str, str]:
    """A new API client (every scope) of ``organization``, through the command line."""
    lines = cli(env, "clients", "create", "--organization", organization, "--name", "bench").splitlines()
    values = dict(line.split("=", 1) for line in lines if "=" in line)
    return values["client_id"], values["client_secret"]


def token(base: str, credentials: tuple[str, str]) -> str:
    response = httpx.post(
        f"{base}/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": credentials[0],
            "client_secret": credentials[1],
        },
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


@dataclass
class Server:
    name: str
    base: str
    process: subprocess.Popen[bytes]
    pids: list[int]


def _wait(url: str, process: subprocess.Popen[bytes], *, post: bool) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server at {url} exited with {process.returncode}")
        try:
            if post:
                response = httpx.post(url, json={"query": "{ __typename }"}, timeout=2)
            else:
                response = httpx.get(url, timeout=2)
            if response.status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the server at {url} did not answer")


def _children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [int(child) for child in found]


def _all_pids(pid: int) -> list[int]:
    pids = [pid]
    for child in _children(pid):
        pids.extend(_all_pids(child))
    return pids


@contextlib.contextmanager
def serving(
    name: str, command: list[str], env: dict[str, str], *, ready: str, post: bool = False, cwd: Path = ROOT
) -> Iterator[Server]:
    """Run ``command`` (which listens on the port in ``ready``) in ``cwd`` until the block ends."""
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=log, cwd=cwd, start_new_session=True)
        try:
            _wait(ready, process, post=post)
            yield Server(name, ready.rsplit("/", 1)[0], process, _all_pids(process.pid))
        except BaseException:
            log.seek(0)
            sys.stderr.write(log.read().decode(errors="replace")[-4000:])
            raise
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, 15)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)
                process.wait()


def ours(
    database_url: str, workers: int, *, root: Path = ROOT, settings: dict[str, str] | None = None
) -> contextlib.AbstractContextManager[Server]:
    """Our server, from this checkout or from the tree at ``root`` (another version, run with
    this checkout's virtual environment), with ``settings`` on top of the benchmarks' own."""
    port = free_port()
    command = [sys.executable, "-m", "rma_graphql.startup", "serve", "--port", str(port)]
    command += ["--workers", str(workers), "--log-level", "warning", "--no-migrate"]
    env = our_env(database_url)
    if root != ROOT:
        # Ahead of the checkout the virtual environment installs.
        env["PYTHONPATH"] = str(root)
    env.update(settings or {})
    return serving("ours", command, env, ready=f"http://127.0.0.1:{port}/readyz", cwd=root)


def best_case(
    database_url: str, organization: str, workers: int
) -> contextlib.AbstractContextManager[Server]:
    port = free_port()
    env = dict(os.environ, BEST_CASE_DSN=plain_dsn(database_url), BEST_CASE_ORGANIZATION=organization)
    command = [sys.executable, "-m", "uvicorn", "--app-dir", str(SCRIPTS), "bench_best_case:app"]
    command += ["--port", str(port), "--workers", str(workers), "--log-level", "warning", "--no-access-log"]
    return serving("best case", command, env, ready=f"http://127.0.0.1:{port}/graphql", post=True)


POSTGRAPHILE = SCRIPTS / "postgraphile"


def postgraphile(database_url: str, workers: int) -> contextlib.AbstractContextManager[Server]:
    """PostGraphile v4 (the version scripts/postgraphile/package-lock.json pins)."""
    binary = POSTGRAPHILE / "node_modules" / ".bin" / "postgraphile"
    if not binary.exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--silent"], cwd=POSTGRAPHILE, check=True)
    port = free_port()
    command = [str(binary), "-c", plain_dsn(database_url), "--host", "127.0.0.1", "--port", str(port)]
    command += ["--disable-query-log", "--disable-graphiql", "--schema", "public"]
    if workers > 1:
        command += ["--cluster-workers", str(workers)]
    env = dict(os.environ, NODE_ENV="production")
    return serving("PostGraphile", command, env, ready=f"http://127.0.0.1:{port}/graphql", post=True)


def check(base: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
    """One request, answered without errors (else the benchmark would time errors)."""
    response = httpx.post(f"{base}/graphql", json=body, headers=headers, timeout=30)
    payload = response.json()
    if response.status_code != 200 or payload.get("errors") or not payload.get("data"):
        raise SystemExit(f"{base}: {response.status_code} {str(payload)[:500]}")
    return payload["data"]


WRK_SCRIPT = """
local bodies = {%s}
local headers = {%s}
local counter = 0
request = function()
  counter = counter + 1
  return wrk.format("POST", "/graphql", headers, bodies[(counter %% #bodies) + 1])
end
"""


def _lua(text: str) -> str:
    return "[==[" + text + "]==]"


@dataclass
class Figures:
    rate: float
    p50_ms: float
    p99_ms: float
    errors: int


def milliseconds(value: str) -> float:
    """wrk's duration (``850.00us``, ``12.5ms``, ``1.2s``) in milliseconds."""
    number = float(re.match(r"[\d.]+", value).group(0))  # type: ignore[union-attr]
    if value.endswith("us"):
        return number / 1000
    if value.endswith("ms"):
        return number
    if value.endswith("s"):
        return number * 1000
    return number


def run_wrk(lua: str, base: str, *, seconds: int, connections: int, threads: int) -> str:
    """wrk's report of a run of the Lua script ``lua`` against ``base``."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(lua)
        script.flush()
        command = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--latency"]
        return subprocess.run(
            [*command, "-s", script.name, base], capture_output=True, text=True, check=True
        ).stdout


def percentiles(output: str) -> tuple[float, float]:
    """p50 and p99 in milliseconds from wrk's latency distribution."""
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.M)
    assert p50 is not None, output
    assert p99 is not None, output
    return milliseconds(p50.group(1)), milliseconds(p99.group(1))


def wrk(
    base: str,
    bodies: list[dict[str, Any]],
    headers: dict[str, str],
    *,
    seconds: int,
    connections: int,
    threads: int = 2,
) -> Figures:
    """wrk against ``base``/graphql posting ``bodies`` in turn."""
    all_headers = {"Content-Type": "application/json", **headers}
    lua = WRK_SCRIPT % (
        ", ".join(_lua(orjson.dumps(body).decode()) for body in bodies),
        ", ".join(f"[ {_lua(name)} ] = {_lua(value)}" for name, value in all_headers.items()),
    )
    output = run_wrk(lua, base, seconds=seconds, connections=connections, threads=threads)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50, p99 = percentiles(output)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    if socket_errors:
        print(f"    wrk: socket errors {socket_errors.group(1)}")
    return Figures(rate, p50, p99, int(errors.group(1)) if errors else 0)


def profile(pid: int, seconds: int, load: Callable[[], Any]) -> str:
    """py-spy's samples of process ``pid`` while ``load`` runs, summed: self time per
    package, and the functions with the most time inside them."""
    with tempfile.NamedTemporaryFile(suffix=".txt") as out:
        spy = subprocess.Popen(
            [
                *(
                    str(Path(sys.executable).with_name("py-spy")),
                    "record",
                    "--pid",
                    str(pid),
                    "--duration",
                    str(seconds),
                    "--rate",
                    "250",
                ),
                *("--format", "raw", "--output", out.name, "--nonblocking"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        load()
        spy.wait()
        return summarise(Path(out.name).read_text())


def _frame(frame: str) -> tuple[str, str]:
    """(function, file) of one py-spy frame ``function (path/file.py:line)``."""
    name, _, where = frame.partition(" (")
    return name, where.rsplit(":", 1)[0]


def _package(path: str) -> str:
    if "rma_graphql/" in path:
        return "rma_graphql (ours)"
    return path.split("/")[0].removesuffix(".py")


def summarise(raw: str, top: int = 15) -> str:
    """Self time per package, and the functions that spend the most of it themselves."""
    own: Counter[str] = Counter()
    functions: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        samples = int(count)
        total += samples
        name, path = _frame(stack.split(";")[-1])
        own[_package(path)] += samples
        functions[f"{name} ({path})"] += samples
    if not total:
        return "    (no samples)"
    lines = [f"    self time by package ({total} samples):"]
    lines += [f"      {100 * n / total:5.1f}%  {package}" for package, n in own.most_common(12)]
    lines.append("    self time by function:")
    lines += [f"      {100 * n / total:5.1f}%  {name}" for name, n in functions.most_common(top)]
    return "\n".join(lines)
