"""Batch jobs: many talking-head videos from one CSV or JSON-lines file, on a local process pool.

``talkinghead batch jobs.csv [--workers 2] [--results results.jsonl]``

Each row is one video: ``portrait``, ``audio`` *or* ``text``, ``output``, and optionally any of
:data:`OPTION_COLUMNS` (the ``generate`` options). Relative paths are relative to the jobs file's
folder. Rows are checked first; a bad row is reported with its row number and skipped, and the
others run. A row whose output already exists is skipped (so an interrupted batch resumes where
it stopped). Every row gets a line in the results file (JSON lines): ``row``, ``output``,
``status`` (``done``, ``skipped``, ``failed``, ``invalid``), ``seconds`` and ``error``.

Jobs run in worker processes (``spawn``), one video each; each worker uses the pipeline as the
command line does (:func:`talkinghead.pipeline.generate`, or :func:`~talkinghead.pipeline.generate_from_text`).
With ``ray_address`` (extra ``ray``) the same jobs run as Ray tasks on a cluster instead, one CPU
each: ``auto`` joins the cluster this machine belongs to, ``ray://HOST:PORT`` a remote one. The
paths in the jobs file must then be valid on the cluster's machines (a shared folder).
"""

from __future__ import annotations

import csv
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path

from talkinghead.types import InputError

#: Optional columns: the ``generate`` settings and their types.
OPTION_COLUMNS: dict[str, type] = {"transcript": str, "size": int, "fps": float, "pose_scale": float,
                                   "blink_rate": float, "full_frame": bool, "face_index": int, "phones": str,
                                   "motion": str, "seed": int, "mouth": str, "motion_out": str, "voice": str, "rate": float}
#: Columns every row names (``audio`` or ``text``, exactly one).
REQUIRED = ("portrait", "output")


@dataclass(frozen=True)
class Job:
    """One row of a jobs file, checked: paths resolved, options typed."""

    row: int
    portrait: Path
    output: Path
    audio: Path | None = None
    text: str | None = None
    options: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class JobResult:
    """What happened to one row (a line of the results file)."""

    row: int
    output: str
    status: str
    seconds: float = 0.0
    error: str | None = None


def _parse_bool(v: str) -> bool:
    s = v.strip().lower()
    if s in ("1", "true", "yes", "y"):
        return True
    if s in ("0", "false", "no", "n", ""):
        return False
    raise ValueError(f"not a yes/no value: {v!r}")


def read_jobs(path: str | os.PathLike[str]) -> tuple[list[Job], list[JobResult]]:
    """Read and check a jobs file (``.csv`` with a header row, or ``.jsonl``: one JSON object a line).

    Returns:
        ``(jobs, invalid)``: the good rows, and a ``invalid`` result for each bad one (rows are
        numbered from 1, the first data row).
    Raises:
        InputError: the file is missing, unreadable, of another type, or has no rows.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: jobs file not found")
    base = p.resolve().parent  # absolute: Ray workers do not share this working folder
    if p.suffix.lower() not in (".csv", ".jsonl", ".ndjson"):
        raise InputError(f"{p}: jobs must be a .csv (with a header row) or .jsonl file")
    try:
        text = p.read_text(encoding="utf-8-sig")  # a byte-order mark (spreadsheet exports) is not a column name
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{p}: cannot read the jobs file ({e})") from e
    rows: list[dict[str, object] | str] = []
    if p.suffix.lower() == ".csv":
        rows = [{k.strip(): (v or "").strip() for k, v in r.items() if k} for r in csv.DictReader(text.splitlines())]
    else:
        for line in text.splitlines():
            if line.strip():
                try:
                    obj = json.loads(line)
                    rows.append(obj if isinstance(obj, dict) else "not a JSON object")
                except json.JSONDecodeError as e:
                    rows.append(f"not JSON ({e.msg})")
    if not rows:
        raise InputError(f"{p}: no jobs in the file")
    jobs, invalid = [], []
    for i, r in enumerate(rows, start=1):
        try:
            if isinstance(r, str):
                raise ValueError(r)
            jobs.append(_check_row(i, r, base))
        except ValueError as e:
            out = str(r.get("output", "")) if isinstance(r, dict) else ""
            invalid.append(JobResult(row=i, output=out, status="invalid", error=str(e)))
    return jobs, invalid


def _check_row(i: int, r: dict[str, object], base: Path) -> Job:
    """One row as a Job (ValueError naming the problem)."""
    def path(key: str) -> Path:
        q = Path(str(r[key]))
        return q if q.is_absolute() else base / q

    missing = [k for k in REQUIRED if not str(r.get(k) or "").strip()]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")
    has_audio, has_text = bool(str(r.get("audio") or "").strip()), bool(str(r.get("text") or "").strip())
    if has_audio == has_text:
        raise ValueError("give exactly one of audio and text")
    if has_text and str(r.get("transcript") or "").strip():
        raise ValueError("transcript is not used with text: the text is what is said")
    unknown = sorted(set(r) - set(REQUIRED) - {"audio", "text"} - set(OPTION_COLUMNS))
    if unknown:
        raise ValueError(f"unknown column(s) {', '.join(unknown)}")
    options: dict[str, object] = {}
    for k, kind in OPTION_COLUMNS.items():
        v = r.get(k)
        if v is None or str(v).strip() == "":
            continue
        try:
            options[k] = _parse_bool(str(v)) if kind is bool else kind(v)
        except (TypeError, ValueError) as e:
            raise ValueError(f"{k}: {e}") from e
    if "motion_out" in options:
        options["motion_out"] = str(path("motion_out"))
    _config(options).validate()  # bad settings are this row's problem, found before anything runs
    job = Job(row=i, portrait=path("portrait"), output=path("output"), audio=path("audio") if has_audio else None,
              text=str(r["text"]) if has_text else None, options=options)
    if not job.portrait.is_file():
        raise ValueError(f"portrait not found: {job.portrait}")
    if job.audio is not None and not job.audio.is_file():
        raise ValueError(f"audio not found: {job.audio}")
    return job


def _config(options: dict[str, object]) -> object:
    """The row's GenerateConfig (its generate settings; the rest are TTS and output options)."""
    from talkinghead.pipeline import GenerateConfig

    names = {f.name for f in fields(GenerateConfig)}
    return GenerateConfig(**{k: v for k, v in options.items() if k in names})  # type: ignore[arg-type]


def run_job(job: Job) -> JobResult:
    """Make one video (in a worker process). Never raises for a user-level problem: it is the result's error."""
    from talkinghead.audio.tts import TTSConfig
    from talkinghead.pipeline import speak_or_play

    t0 = time.perf_counter()
    opts = job.options
    transcript, motion_out = opts.get("transcript"), opts.get("motion_out")
    voice, rate = opts.get("voice", "auto"), opts.get("rate", 1.0)
    try:
        speak_or_play(job.portrait, job.output, audio=job.audio, text=job.text, transcript=transcript,  # type: ignore[arg-type]
                      tts=TTSConfig(voice=str(voice), rate=float(rate)), config=_config(opts),  # type: ignore[arg-type]
                      motion_out=motion_out, processes=1)  # type: ignore[arg-type]  # the pool fills the cores
    except InputError as e:
        return JobResult(job.row, str(job.output), "failed", round(time.perf_counter() - t0, 2), str(e))
    except Exception as e:  # a bug: still reported as this row's failure, the rest of the batch goes on
        return JobResult(job.row, str(job.output), "failed", round(time.perf_counter() - t0, 2),
                         f"{type(e).__name__}: {e}")
    return JobResult(job.row, str(job.output), "done", round(time.perf_counter() - t0, 2))


def _local_pool(todo: list[Job], workers: int) -> Iterator[JobResult]:
    """Results of ``todo`` from a local spawn process pool, as they finish."""
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from multiprocessing import get_context

    with ProcessPoolExecutor(max_workers=min(workers, len(todo)), mp_context=get_context("spawn")) as pool:
        futures = {pool.submit(run_job, j): j for j in todo}
        try:
            for f in as_completed(futures):
                try:
                    yield f.result()
                except Exception as e:  # the worker died (out of memory...): this row failed, the rest go on
                    j = futures[f]
                    yield JobResult(j.row, str(j.output), "failed", 0.0, f"worker failed: {type(e).__name__}: {e}")
        except BaseException:
            pool.shutdown(cancel_futures=True)
            raise


def _ray_tasks(todo: list[Job], address: str) -> Iterator[JobResult]:
    """Results of ``todo`` from Ray tasks (one CPU each) on the cluster at ``address``, as they finish."""
    try:
        import ray
    except ImportError as e:
        raise InputError("--ray needs the optional 'ray' extra: pip install 'talkinghead[ray]'") from e
    started = not ray.is_initialized()
    if started:
        try:
            ray.init(address=address, log_to_driver=False)
        except (ConnectionError, RuntimeError, ValueError) as e:
            raise InputError(f"--ray {address}: cannot join the Ray cluster ({e})") from e
    try:
        task = ray.remote(num_cpus=1)(run_job)
        refs = {task.remote(j): j for j in todo}
        pending = list(refs)
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            try:
                yield ray.get(ready[0])
            except Exception as e:  # a Ray worker or task failure: this row failed, the rest go on
                j = refs[ready[0]]
                yield JobResult(j.row, str(j.output), "failed", 0.0, f"Ray task failed: {type(e).__name__}: {e}")
    finally:
        if started:
            ray.shutdown()


def run_batch(jobs_file: str | os.PathLike[str], results: str | os.PathLike[str] | None = None, workers: int = 2,
              progress: bool = True, on_result: Callable[[JobResult], None] | None = None,
              ray_address: str | None = None) -> list[JobResult]:
    """Run every job of a jobs file (local process pool, or Ray); write the results file as jobs finish.

    Args:
        jobs_file: ``.csv`` or ``.jsonl`` (see the module docstring).
        results: JSON-lines results file (default: ``JOBS.results.jsonl`` beside the jobs file).
        workers: worker processes (>= 1).
        progress: a progress bar over jobs on stderr.
        on_result: called with each result as it comes.
        ray_address: run on this Ray cluster instead of the local pool (None: local).
    Returns:
        One result per row, in row order.
    Raises:
        InputError: unreadable jobs file, ``workers < 1``, two rows writing the same output, or
            the Ray cluster cannot be joined.
    """
    from tqdm import tqdm

    if workers < 1:
        raise InputError(f"--workers must be >= 1, got {workers}")
    jobs, invalid = read_jobs(jobs_file)
    outs = [j.output.resolve() for j in jobs]
    dup = sorted({str(o) for o in outs if outs.count(o) > 1})
    if dup:
        raise InputError(f"{jobs_file}: several rows write {dup[0]}")
    res_path = Path(results) if results is not None else Path(jobs_file).with_suffix(".results.jsonl")
    if res_path.resolve() == Path(jobs_file).resolve() or res_path.resolve() in outs:
        raise InputError(f"{res_path}: the results file would overwrite the jobs file or a job's output")
    done: list[JobResult] = list(invalid)
    todo = []
    for j in jobs:
        if j.output.exists():
            done.append(JobResult(j.row, str(j.output), "skipped", 0.0, "output exists"))
        else:
            todo.append(j)
    bar = tqdm(total=len(jobs) + len(invalid), unit="job", desc="batch", disable=not progress, dynamic_ncols=True)
    bar.update(len(done))
    try:
        log = open(res_path, "w", encoding="utf-8")  # noqa: SIM115 (closed by the with below)
    except OSError as e:
        raise InputError(f"{res_path}: cannot write the results file ({e.strerror or e})") from e
    with log:
        def record(r: JobResult) -> None:
            log.write(json.dumps(r.__dict__) + "\n")
            log.flush()
            if on_result is not None:
                on_result(r)

        for r in done:
            record(r)
        if todo:
            for r in (_ray_tasks(todo, ray_address) if ray_address else _local_pool(todo, workers)):
                done.append(r)
                record(r)
                bar.update(1)
    bar.close()
    return sorted(done, key=lambda r: r.row)
