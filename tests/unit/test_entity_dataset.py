"""Entity-recognizer training data: validation rules, trainability, merge and serialisation."""

from __future__ import annotations

import pytest
from comprehend_al.datasets.entities import (
    Annotation,
    EntityLimits,
    EntityUpload,
    check_trainable,
    merge,
    to_files,
    validate_upload,
)
from comprehend_al.errors import InvalidTrainingData, Problem

DOCS = "documents.txt"
ANNS = "annotations.csv"
HEADER = "File,Line,Begin Offset,End Offset,Type"
TEXTS = [
    "Alice Smith works for Acme Corp in Paris .",  # Alice Smith [0,11) Acme Corp [22,31) Paris [35,40)
    "Bob Jones visited Berlin .",  # Bob Jones [0,9) Berlin [18,24)
    "Nothing to see here .",
]
ROWS = [
    "documents.txt,0,0,11,PERSON",
    "documents.txt,0,22,31,ORGANIZATION",
    "documents.txt,0,35,40,LOCATION",
    "documents.txt,1,0,9,PERSON",
    "documents.txt,1,18,24,LOCATION",
]


def files(
    texts: list[str] = TEXTS, rows: list[str] = ROWS, header: str | None = HEADER
) -> tuple[bytes, bytes]:
    documents = "".join(t + "\n" for t in texts).encode()
    lines = ([header] if header is not None else []) + rows
    return documents, "".join(r + "\n" for r in lines).encode()


def validate(documents: bytes, annotations: bytes, **kwargs: object) -> EntityUpload:
    return validate_upload(documents, annotations, documents_file=DOCS, annotations_file=ANNS, **kwargs)  # type: ignore[arg-type]


def problems_of(documents: bytes, annotations: bytes, **kwargs: object) -> list[Problem]:
    with pytest.raises(InvalidTrainingData) as caught:
        validate(documents, annotations, **kwargs)
    return caught.value.problems


def only_problem(documents: bytes, annotations: bytes, **kwargs: object) -> Problem:
    problems = problems_of(documents, annotations, **kwargs)
    assert len(problems) == 1, problems
    return problems[0]


def where(problem: Problem) -> tuple[str, int, str]:
    return problem.file, problem.line, problem.field


# --- a valid upload ---------------------------------------------------------------------------------
def test_valid_upload_is_parsed_into_documents_and_sorted_annotations() -> None:
    upload = validate(*files())

    assert upload.documents == TEXTS
    assert upload.annotations == [
        Annotation(0, 0, 11, "PERSON"),
        Annotation(0, 22, 31, "ORGANIZATION"),
        Annotation(0, 35, 40, "LOCATION"),
        Annotation(1, 0, 9, "PERSON"),
        Annotation(1, 18, 24, "LOCATION"),
    ]
    assert upload.warnings == []


def test_report_counts_entities_and_documents_per_type() -> None:
    report = validate(*files()).report()

    assert report["documents"] == 3
    assert report["annotations"] == 5
    assert report["entity_types"] == {
        "LOCATION": {"annotations": 2, "documents": 2},
        "ORGANIZATION": {"annotations": 1, "documents": 1},
        "PERSON": {"annotations": 2, "documents": 2},
    }
    assert report["warning_count"] == 0


def test_file_column_may_name_the_documents_file_by_its_s3_key_basename() -> None:
    upload = validate_upload(
        *files(), documents_file="train/new/batch-7/documents.txt", annotations_file="train/new/batch-7/a.csv"
    )

    assert len(upload.annotations) == 5


def test_crlf_line_endings_are_accepted() -> None:
    documents, annotations = files()

    upload = validate(documents.replace(b"\n", b"\r\n"), annotations.replace(b"\n", b"\r\n"))

    assert upload.documents == TEXTS
    assert len(upload.annotations) == 5


def test_utf8_byte_order_mark_on_the_annotations_csv_is_accepted() -> None:
    documents, annotations = files()

    upload = validate(documents, b"\xef\xbb\xbf" + annotations)

    assert len(upload.annotations) == 5


def test_offsets_count_characters_not_bytes() -> None:
    # "Zoë Ågren" is 9 characters (11 bytes of UTF-8); the span [0,9) covers it exactly.
    upload = validate(*files(["Zoë Ågren lives in Malmö ."], ["documents.txt,0,0,9,PERSON"]))

    a = upload.annotations[0]
    assert upload.documents[a.doc_index][a.begin : a.end] == "Zoë Ågren"


# --- encoding ---------------------------------------------------------------------------------------
def test_documents_not_utf8_names_the_document_line() -> None:
    documents, annotations = files()
    documents = documents.replace(b"Bob", b"B\xe9b")  # Latin-1 é on line 2

    problem = only_problem(documents, annotations)

    assert where(problem) == (DOCS, 2, "document")
    assert "UTF-8" in problem.reason


def test_annotations_not_utf8_names_the_csv_line() -> None:
    documents, annotations = files()
    annotations = annotations.replace(b"ORGANIZATION", b"ORGANIZATI\xd3N")  # row on line 3

    problem = only_problem(documents, annotations)

    assert where(problem) == (ANNS, 3, "*")
    assert "UTF-8" in problem.reason


def test_byte_order_mark_on_the_documents_file_is_rejected() -> None:
    documents, annotations = files()

    problem = only_problem(b"\xef\xbb\xbf" + documents, annotations)

    assert where(problem) == (DOCS, 1, "document")


# --- header -----------------------------------------------------------------------------------------
def test_missing_header_is_reported_on_line_1() -> None:
    problem = only_problem(*files(header=None))

    assert where(problem) == (ANNS, 1, "*")
    assert "header missing" in problem.reason


def test_wrong_header_is_reported_on_line_1() -> None:
    problem = only_problem(*files(header="File,Line,Begin,End,Type"))

    assert where(problem) == (ANNS, 1, "*")
    assert "expected File,Line,Begin Offset,End Offset,Type" in problem.reason


def test_header_must_match_exactly_including_spaces() -> None:
    problem = only_problem(*files(header="File, Line, Begin Offset, End Offset, Type"))

    assert where(problem) == (ANNS, 1, "*")


def test_empty_annotations_file_is_reported() -> None:
    documents, _ = files()

    problem = only_problem(documents, b"")

    assert where(problem) == (ANNS, 1, "*")


# --- row shape and columns --------------------------------------------------------------------------
def test_row_with_wrong_number_of_fields_names_its_line() -> None:
    rows = [*ROWS[:2], "documents.txt,0,35,40", *ROWS[3:]]

    problem = only_problem(*files(rows=rows))

    assert where(problem) == (ANNS, 4, "*")
    assert "4 fields" in problem.reason


def test_file_column_must_name_the_documents_file() -> None:
    rows = [*ROWS[:3], "other.txt,1,0,9,PERSON", ROWS[4]]

    problem = only_problem(*files(rows=rows))

    assert where(problem) == (ANNS, 5, "File")


def test_line_must_be_an_integer() -> None:
    rows = [*ROWS[:1], "documents.txt,zero,22,31,ORGANIZATION", *ROWS[2:]]

    problem = only_problem(*files(rows=rows))

    assert where(problem) == (ANNS, 3, "Line")


def test_line_must_refer_to_an_existing_document() -> None:
    rows = [*ROWS, "documents.txt,3,0,4,PERSON"]  # three documents: lines 0..2

    problem = only_problem(*files(rows=rows))

    assert where(problem) == (ANNS, 7, "Line")
    assert "does not exist" in problem.reason


def test_line_must_not_refer_to_an_empty_document() -> None:
    texts = [TEXTS[0], "", *TEXTS[1:]]
    rows = [*ROWS[:3], "documents.txt,1,0,3,PERSON"]

    problem = only_problem(*files(texts=texts, rows=rows))

    assert where(problem) == (ANNS, 5, "Line")
    assert "empty" in problem.reason


def test_begin_offset_must_be_a_non_negative_integer() -> None:
    rows = [*ROWS[:1], "documents.txt,0,-1,31,ORGANIZATION", *ROWS[2:]]

    problem = only_problem(*files(rows=rows))

    assert where(problem) == (ANNS, 3, "Begin Offset")


def test_end_offset_must_be_an_integer() -> None:
    rows = [*ROWS[:1], "documents.txt,0,22,31.0,ORGANIZATION", *ROWS[2:]]

    problem = only_problem(*files(rows=rows))

    assert where(problem) == (ANNS, 3, "End Offset")


def test_end_must_be_greater_than_begin() -> None:
    rows = [*ROWS[:1], "documents.txt,0,22,22,ORGANIZATION", *ROWS[2:]]

    problem = only_problem(*files(rows=rows))

    assert where(problem) == (ANNS, 3, "End Offset")
    assert "exclusive" in problem.reason


def test_end_must_lie_inside_the_document() -> None:
    rows = [*ROWS[:3], "documents.txt,1,18,27,LOCATION"]  # document 1 has 26 characters

    problem = only_problem(*files(rows=rows))

    assert where(problem) == (ANNS, 5, "End Offset")
    assert "26 characters" in problem.reason


def test_span_ending_exactly_at_the_end_of_the_document_is_valid() -> None:
    upload = validate(*files(["Meet Alice"], ["documents.txt,0,5,10,PERSON"]))

    assert upload.annotations == [Annotation(0, 5, 10, "PERSON")]


@pytest.mark.parametrize("type_", ["person", "Person", "1PERSON", "PER-SON", "PER SON", ""])
def test_type_must_be_upper_snake(type_: str) -> None:
    rows = [*ROWS[:3], f"documents.txt,1,0,9,{type_}"]

    problem = only_problem(*files(rows=rows))

    assert where(problem) == (ANNS, 5, "Type")


def test_upper_snake_type_with_digits_and_underscores_is_valid() -> None:
    upload = validate(*files(rows=["documents.txt,0,0,11,PERSON_NAME_2"]))

    assert upload.annotations[0].type == "PERSON_NAME_2"


# --- overlaps and duplicates ------------------------------------------------------------------------
def test_overlapping_spans_in_one_document_are_rejected_at_the_later_row() -> None:
    rows = [*ROWS, "documents.txt,0,6,16,PERSON"]  # [6,16) overlaps Alice Smith [0,11)

    problem = only_problem(*files(rows=rows))

    assert where(problem) == (ANNS, 7, "Begin Offset")
    assert "overlaps" in problem.reason and "line 2" in problem.reason


def test_same_span_with_two_types_is_an_overlap() -> None:
    rows = [*ROWS, "documents.txt,1,18,24,ORGANIZATION"]

    problem = only_problem(*files(rows=rows))

    assert where(problem)[:2] == (ANNS, 7)


def test_adjacent_spans_do_not_overlap() -> None:
    upload = validate(*files(["NewYork"], ["documents.txt,0,0,3,LOCATION", "documents.txt,0,3,7,LOCATION"]))

    assert len(upload.annotations) == 2


def test_identical_duplicate_rows_are_kept_once_with_a_warning() -> None:
    upload = validate(*files(rows=[*ROWS, ROWS[0]]))

    assert len(upload.annotations) == 5
    assert [where(w) for w in upload.warnings] == [(ANNS, 7, "*")]
    assert "duplicate" in upload.warnings[0].reason


# --- documents --------------------------------------------------------------------------------------
def test_document_over_5000_bytes_is_rejected() -> None:
    long_text = "é" * 2501  # 2,501 characters, 5,002 bytes
    texts = [*TEXTS, long_text]

    problem = only_problem(*files(texts=texts))

    assert where(problem) == (DOCS, 4, "document")
    assert "5002 bytes" in problem.reason


def test_document_of_exactly_5000_bytes_is_valid() -> None:
    upload = validate(*files(texts=[*TEXTS, "a" * 5000]))

    assert len(upload.documents) == 4


def test_empty_documents_are_skipped_with_a_warning_and_later_lines_renumbered() -> None:
    texts = [TEXTS[0], "   ", TEXTS[1]]
    rows = [*ROWS[:3], "documents.txt,2,0,9,PERSON"]

    upload = validate(*files(texts=texts, rows=rows))

    assert upload.documents == [TEXTS[0], TEXTS[1]]
    assert upload.annotations[-1] == Annotation(1, 0, 9, "PERSON")
    assert upload.empty_documents_skipped == 1
    assert [where(w) for w in upload.warnings] == [(DOCS, 2, "document")]


def test_more_than_25_types_is_rejected() -> None:
    texts = [" ".join(f"w{i}" for i in range(26))]  # "w0 w1 ... w25"
    starts = [texts[0].index(f"w{i}") for i in range(26)]
    rows = [f"documents.txt,0,{s},{s + 2},TYPE_{chr(65 + i)}" for i, s in enumerate(starts[:10])]
    rows += [f"documents.txt,0,{s},{s + 3},TYPE_{chr(65 + i)}" for i, s in enumerate(starts[10:], start=10)]

    problem = only_problem(*files(texts=texts, rows=rows))

    assert where(problem) == (ANNS, 0, "Type")
    assert "26 entity types" in problem.reason


# --- warnings ---------------------------------------------------------------------------------------
def test_span_starting_inside_a_word_is_a_warning() -> None:
    upload = validate(*files(rows=["documents.txt,0,2,11,PERSON"]))  # "ice Smith"

    assert [(where(w), "starts inside a word" in w.reason) for w in upload.warnings] == [
        ((ANNS, 2, "Begin Offset"), True)
    ]


def test_span_ending_inside_a_word_is_a_warning() -> None:
    upload = validate(*files(rows=["documents.txt,0,0,9,PERSON"]))  # "Alice Smi"

    assert [(where(w), "ends inside a word" in w.reason) for w in upload.warnings] == [
        ((ANNS, 2, "End Offset"), True)
    ]


def test_span_with_trailing_whitespace_is_a_warning() -> None:
    upload = validate(*files(rows=["documents.txt,0,0,12,PERSON"]))  # "Alice Smith "

    assert len(upload.warnings) == 1
    assert "whitespace" in upload.warnings[0].reason


# --- every problem is listed, capped ----------------------------------------------------------------
def test_every_problem_is_listed_in_file_order() -> None:
    rows = [
        "documents.txt,x,0,11,PERSON",
        "documents.txt,0,22,31,organization",
        "documents.txt,1,0,99,PERSON",
    ]

    problems = problems_of(*files(rows=rows))

    assert [where(p) for p in problems] == [(ANNS, 2, "Line"), (ANNS, 3, "Type"), (ANNS, 4, "End Offset")]


def test_problems_are_capped_with_a_count_of_the_rest() -> None:
    rows = [f"documents.txt,0,0,11,bad{i}" for i in range(10)]

    problems = problems_of(*files(rows=rows), limits=EntityLimits(max_problems=3))

    assert len(problems) == 4
    assert problems[-1].reason == "7 more problem(s) not listed"


# --- trainability (merged dataset) ------------------------------------------------------------------
def dataset(type_counts: dict[str, tuple[int, int]]) -> EntityUpload:
    """A dataset with, per type, (annotations, documents): annotations spread over the documents."""
    documents: list[str] = []
    annotations: list[Annotation] = []
    for type_, (count, docs) in type_counts.items():
        per_doc = [count // docs + (1 if i < count % docs else 0) for i in range(docs)]
        for n in per_doc:
            documents.append(" ".join(["Name"] * n))
            annotations += [Annotation(len(documents) - 1, 5 * k, 5 * k + 4, type_) for k in range(n)]
    return EntityUpload(documents=documents, annotations=annotations)


def test_dataset_meeting_minimums_comfortably_is_trainable_without_warnings() -> None:
    assert check_trainable(dataset({"PERSON": (50, 6), "LOCATION": (80, 10)})) == []


def test_type_with_fewer_than_25_annotations_is_not_trainable() -> None:
    with pytest.raises(InvalidTrainingData) as caught:
        check_trainable(dataset({"PERSON": (50, 6), "LOCATION": (24, 10)}))

    [problem] = caught.value.problems
    assert where(problem) == ("annotations.csv", 0, "Type")
    assert problem.reason.startswith("LOCATION: 24 annotations")


def test_type_in_fewer_than_3_documents_is_not_trainable() -> None:
    with pytest.raises(InvalidTrainingData) as caught:
        check_trainable(dataset({"PERSON": (50, 2)}))

    [problem] = caught.value.problems
    assert "PERSON: 2 documents" in problem.reason


def test_dataset_without_annotations_is_not_trainable() -> None:
    with pytest.raises(InvalidTrainingData):
        check_trainable(EntityUpload(documents=["a b c"], annotations=[]))


def test_type_below_twice_the_minimum_is_a_warning() -> None:
    warnings = check_trainable(dataset({"PERSON": (49, 6), "LOCATION": (50, 6)}))

    assert [w.reason.split(":")[0] for w in warnings] == ["PERSON"]


def test_small_upload_is_valid_even_though_the_merged_minimums_are_not_met() -> None:
    upload = validate(*files())  # 1-2 annotations per type: fine as an upload

    with pytest.raises(InvalidTrainingData):
        check_trainable(upload)


# --- merge ------------------------------------------------------------------------------------------
def upload_of(*docs: tuple[str, list[tuple[int, int, str]]]) -> EntityUpload:
    return EntityUpload(
        documents=[text for text, _ in docs],
        annotations=[Annotation(i, b, e, t) for i, (_, spans) in enumerate(docs) for b, e, t in spans],
    )


ALICE = ("Alice went home .", [(0, 5, "PERSON")])
BOB = ("Bob went to Rome .", [(0, 3, "PERSON"), (12, 16, "LOCATION")])
CAROL = ("Carol stayed .", [(0, 5, "PERSON")])


def test_merge_appends_new_documents_after_the_current_ones() -> None:
    result = merge(upload_of(ALICE, BOB), upload_of(CAROL))

    assert result.dataset.documents == [ALICE[0], BOB[0], CAROL[0]]
    assert result.dataset.annotations[-1] == Annotation(2, 0, 5, "PERSON")
    assert (result.added, result.duplicates_dropped, result.conflicts) == (1, 0, [])


def test_merge_drops_a_document_already_present_with_identical_annotations() -> None:
    result = merge(upload_of(ALICE, BOB), upload_of(BOB, CAROL))

    assert result.dataset.documents == [ALICE[0], BOB[0], CAROL[0]]
    assert (result.added, result.duplicates_dropped) == (1, 1)


def test_merge_conflict_keeps_the_position_takes_the_newer_annotations_and_reports_it() -> None:
    relabelled_bob = (BOB[0], [(0, 3, "PERSON"), (12, 16, "ORGANIZATION")])

    result = merge(upload_of(ALICE, BOB), upload_of(relabelled_bob))

    assert result.dataset.documents == [ALICE[0], BOB[0]]
    assert result.dataset.annotations[1:] == [
        Annotation(1, 0, 3, "PERSON"),
        Annotation(1, 12, 16, "ORGANIZATION"),
    ]
    [conflict] = result.conflicts
    assert conflict.doc_index == 1
    assert conflict.to_dict() == {
        "document": 1,
        "previous": [[0, 3, "PERSON"], [12, 16, "LOCATION"]],
        "new": [[0, 3, "PERSON"], [12, 16, "ORGANIZATION"]],
    }
    assert result.report()["conflict_count"] == 1


def test_merge_does_not_modify_its_inputs() -> None:
    current, new = upload_of(ALICE), upload_of((ALICE[0], [(0, 5, "ORGANIZATION")]), CAROL)

    merge(current, new)

    assert current == upload_of(ALICE)
    assert new == upload_of((ALICE[0], [(0, 5, "ORGANIZATION")]), CAROL)


def test_merge_into_an_empty_dataset_folds_duplicates_inside_the_upload() -> None:
    result = merge(EntityUpload(documents=[], annotations=[]), upload_of(ALICE, BOB, ALICE))

    assert result.dataset.documents == [ALICE[0], BOB[0]]
    assert (result.added, result.duplicates_dropped) == (2, 1)


# --- serialisation ----------------------------------------------------------------------------------
def test_to_files_writes_documents_and_a_headed_annotations_csv() -> None:
    documents, annotations = to_files(upload_of(ALICE, BOB))

    assert documents == b"Alice went home .\nBob went to Rome .\n"
    assert annotations == (
        b"File,Line,Begin Offset,End Offset,Type\n"
        b"documents.txt,0,0,5,PERSON\n"
        b"documents.txt,1,0,3,PERSON\n"
        b"documents.txt,1,12,16,LOCATION\n"
    )


def test_to_files_round_trips_through_validate_upload() -> None:
    merged = merge(validate(*files()), upload_of(("Zoë met Bob , Inc. in Malmö .", [(0, 3, "PERSON")])))

    documents, annotations = to_files(merged.dataset)
    again = validate(documents, annotations)

    assert again.documents == merged.dataset.documents
    assert again.annotations == merged.dataset.annotations


def test_to_files_round_trips_after_skipped_empty_lines_are_renumbered() -> None:
    upload = validate(*files(texts=[TEXTS[0], "", TEXTS[1]], rows=[ROWS[0], "documents.txt,2,0,9,PERSON"]))

    again = validate(*to_files(upload))

    assert (again.documents, again.annotations) == (upload.documents, upload.annotations)
    assert again.empty_documents_skipped == 0


def test_to_files_refuses_a_document_with_a_newline() -> None:
    with pytest.raises(ValueError, match="document 0"):
        to_files(upload_of(("two\nlines", [])))
