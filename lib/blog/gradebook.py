"""What grading writes: the gradebook, the exports for Canvas and Moodle, the rubric, a note per student.

All into one folder per assignment, written beside it and swapped in whole, so that a run for another
post leaves this one alone and an interrupted run leaves the last complete one. The teacher's marks in
`rubric.csv` are read first and kept.

Student ids come from the submissions' names, as learning platforms write them when a teacher downloads
every submission: Canvas names files `name_12345_67890_file.ipynb` (its user id second), Moodle puts each
student's files in a folder `Full Name_12345_assignsubmission_file_` (its participant id), GitHub
Classroom and hand-made folders give a folder per student. Otherwise the file's name is the id.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import quote

CANVAS = re.compile(r"(?P<name>[a-z]+)(?:_late)?_(?P<id>\d+)_\d+_.+", re.IGNORECASE)
MOODLE = re.compile(r"(?P<name>.+)_(?P<id>\d+)_assignsubmission_(?:file|onlinetext)_?")
FORMULA = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet reads as the start of a formula


@dataclass
class Student:
    id: str
    name: str = ""
    canvas: str = ""  # Canvas user id
    moodle: str = ""  # Moodle participant id


def student_of(path: PurePosixPath) -> Student:
    "Who handed in `path` (relative to the submissions folder), as far as its name tells."
    for part in path.parts[:-1]:
        if m := MOODLE.fullmatch(part):
            return Student(f"participant-{m['id']}", m["name"], moodle=m["id"])
    if m := CANVAS.fullmatch(path.name):
        return Student(f"canvas-{m['id']}", m["name"], canvas=m["id"])
    return Student(path.parts[0] if len(path.parts) > 1 else path.stem)


def student_ids(paths: list[Path]) -> list[Student]:
    "One Student per submission; two files of one student get ids that tell them apart (their paths)."
    found = [student_of(PurePosixPath(p.as_posix())) for p in paths]
    seen = [s.id for s in found]
    for s, p in zip(found, paths, strict=True):
        if seen.count(s.id) > 1:
            s.id = p.with_suffix("").as_posix()
    return found


def safe_cell(value) -> str:
    "A CSV cell a spreadsheet shows as text: one that would start a formula gets a leading quote."
    text = str(value)
    return "'" + text if text.startswith(FORMULA) else text


def file_name(student_id: str) -> str:
    "A feedback file's name: one per id, no two ids alike (a/b and a__b stay apart), no path in it."
    name = quote(student_id, safe="-_@ ")
    return ("%2E" + name[1:] if name.startswith(".") else name) + ".md"


def csv_bytes(rows: list[list]) -> bytes:
    table = io.StringIO()
    csv.writer(table).writerows([[safe_cell(c) for c in row] for row in rows])
    return table.getvalue().encode("utf-8")


def number(x: float) -> str:
    return f"{x:g}"


@dataclass
class Row:
    student: Student
    file: str
    marks: list  # (exercise, [(points, message) per check]) of the checked exercises
    outcome: object  # grade.Outcome
    rubric: dict = field(default_factory=dict)  # exercise number: (points given or "", out of)

    def auto(self) -> int:
        return sum(p for _, checks in self.marks for p, _ in checks)

    def points(self) -> float:
        return self.auto() + sum(float(p) for p, _ in self.rubric.values() if p != "")

    def max_points(self, work) -> float:
        return work.max_points + sum(out_of for _, out_of in self.rubric.values())

    def notes(self) -> str:
        unmarked = sum(p == "" for p, _ in self.rubric.values())
        found = ["wrong notebook"] if self.outcome.wrong_notebook else []
        found += [f"{unmarked} to mark in rubric.csv"] if unmarked else []
        return "; ".join(found + self.outcome.problems[:3])


RUBRIC_HEADER = ["student", "file", "exercise", "out of", "points", "answer"]


def read_rubric(path: Path) -> dict[tuple[str, str], tuple[str, float]]:
    "The teacher's marks so far: (student, exercise) to (points, out of). Unreadable marks stay unmarked."
    if not path.is_file():
        return {}
    found = {}
    for line in csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))):
        try:
            out_of = float(line.get("out of") or 1)
            points = "" if not (line.get("points") or "").strip() else str(float(line["points"]))
        except ValueError:
            continue
        found[(line.get("student", "").lstrip("'"), line.get("exercise", ""))] = (points, out_of)
    return found


def apply_rubric(rows: list[Row], work, marks: dict) -> list[list]:
    "Fill each row's hand-marked exercises from the rubric; the rubric's rows, written anew."
    lines = [RUBRIC_HEADER]
    for row in rows:
        for e in (e for e in work.exercises if not e.checks):
            points, out_of = marks.get((row.student.id, str(e.number)), ("", 1.0))
            row.rubric[e.number] = (points, out_of)
            answer = row.outcome.written.get(e.number, "(no answer cell found)")[:2000]
            lines.append([row.student.id, row.file, e.number, number(out_of), points, answer])
    return lines


def gradebook(rows: list[Row], work) -> list[list]:
    checked = [e for e in work.exercises if e.checks]
    header = ["student", "file"] + [f"{e.label}: {c['name']} (of 1)" for e in checked for c in e.checks]
    header += [f"{e.label} (rubric)" for e in work.exercises if not e.checks] + ["total", "out of", "notes"]
    lines = [header]
    for row in rows:
        points = [p for _, checks in row.marks for p, _ in checks]
        marked = [row.rubric[e.number][0] for e in work.exercises if not e.checks]
        total, out_of = number(row.points()), number(row.max_points(work))
        lines.append([row.student.id, row.file, *points, *marked, total, out_of, row.notes()])
    return lines


def canvas(rows: list[Row], work) -> list[list]:
    "Canvas's gradebook import: its export's columns, the assignment's points, a Points Possible row."
    column = f"{work.title} ({work.name})"
    out_of = max((row.max_points(work) for row in rows), default=work.max_points)
    lines = [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", column],
        ["Points Possible", "", "", "", "", number(out_of)],
    ]
    for row in rows:
        s = row.student
        lines.append([s.name or s.id, s.canvas, "", "" if s.canvas else s.id, "", number(row.points())])
    return lines


def moodle(rows: list[Row], work) -> list[list]:
    "Moodle's offline grading worksheet for an assignment: its Identifier, Grade and Feedback comments."
    lines = [["Identifier", "Full name", "Grade", "Maximum Grade", "Feedback comments"]]
    for row in rows:
        s = row.student
        ident = f"Participant {s.moodle}" if s.moodle else s.id
        lines.append([ident, s.name or s.id, number(row.points()), number(row.max_points(work)), row.notes()])
    return lines


def feedback(row: Row, work) -> str:
    lines = [
        f"# Feedback: {row.student.id}",
        "",
        f"{work.title}: {number(row.points())} of {number(row.max_points(work))} points.",
        "",
    ]
    if row.outcome.wrong_notebook:
        lines += [
            f"This does not look like the notebook of this assignment ({work.name}.ipynb): was it the wrong file?",
            "",
        ]
    marks = {e.number: checks for e, checks in row.marks}
    for e in work.exercises:  # in the notebook's order, checked and hand-marked alike
        if e.number in marks:
            checks = marks[e.number]
            lines += [f"- {e.label}, {sum(p for p, _ in checks)} of {len(checks)}: {' '.join(m for _, m in checks)}"]
        elif e.number in row.rubric:
            points, out_of = row.rubric[e.number]
            marked = f"{points} of {number(out_of)}" if points != "" else "marked by your teacher"
            lines += [f"- {e.label} (written): {marked}."]
    if row.outcome.problems:
        lines += ["", "Problems while running your notebook:", *[f"- {p}" for p in row.outcome.problems]]
    return "\n".join(lines) + "\n"


def write_results(folder: Path, work, rows: list[Row]) -> Path:
    "Write the assignment's folder beside it and swap it in whole; the rubric's marks carry over."
    marks = read_rubric(folder / "rubric.csv")
    rubric_lines = apply_rubric(rows, work, marks)
    folder.parent.mkdir(parents=True, exist_ok=True)
    new = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}-"))
    try:
        files = {
            "gradebook.csv": gradebook(rows, work),
            "canvas.csv": canvas(rows, work),
            "moodle.csv": moodle(rows, work),
        }
        files["rubric.csv"] = rubric_lines
        for name, lines in files.items():
            (new / name).write_bytes(csv_bytes(lines))
        (new / "feedback").mkdir()
        for row in rows:
            (new / "feedback" / file_name(row.student.id)).write_text(feedback(row, work), encoding="utf-8")
        old = folder.parent / f".{folder.name}-old"
        shutil.rmtree(old, ignore_errors=True)
        if folder.exists():
            os.replace(folder, old)
        os.replace(new, folder)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(new, ignore_errors=True)
    return folder
