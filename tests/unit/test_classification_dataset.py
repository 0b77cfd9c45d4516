"""Comprehend classifier training CSV: validation, merge, serialisation, trainability."""

from __future__ import annotations

import hashlib
import random

import pytest
from comprehend_al.datasets.classification import (
    Limits,
    Row,
    check_test_set,
    check_trainable,
    label_report,
    merge,
    parse_upload,
    read_stored,
    stored_records,
    to_csv,
)
from comprehend_al.errors import InvalidRequest, InvalidTrainingData, Problem


def parse(data: bytes, *, multi_label: bool = False, **kwargs: object) -> list[Row]:
    return parse_upload(data, file="upload.csv", multi_label=multi_label, **kwargs)  # type: ignore[arg-type]


def problems_of(data: bytes, *, multi_label: bool = False, **kwargs: object) -> list[Problem]:
    with pytest.raises(InvalidTrainingData) as caught:
        parse(data, multi_label=multi_label, **kwargs)
    return caught.value.problems


def lines_and_fields(problems: list[Problem]) -> list[tuple[int, str]]:
    return [(p.line, p.field) for p in problems]


# --- parse_upload: well-formed input ----------------------------------------------------------------
def test_parse_returns_label_text_and_line_of_each_record() -> None:
    # Given a two-record multi-class file
    data = b"SPORTS,The match ended 2-1\nPOLITICS,Parliament votes today\n"
    # When it is parsed
    rows = parse(data)
    # Then each record becomes a row with its 1-based line
    assert rows == [
        Row(("SPORTS",), "The match ended 2-1", 1),
        Row(("POLITICS",), "Parliament votes today", 2),
    ]


def test_parse_counts_physical_lines_of_quoted_fields_with_newlines() -> None:
    # Given a record whose quoted text spans three physical lines
    data = b'A,"first\nsecond\nthird, with comma"\nB,after\n'
    # When it is parsed
    rows = parse(data)
    # Then the embedded newlines are kept and the next record starts on physical line 4
    assert rows[0].text == "first\nsecond\nthird, with comma"
    assert rows[1].line == 4


def test_parse_unescapes_doubled_quotes() -> None:
    # Given a quoted field with doubled quotes
    data = b'A,"He said ""hi"""\n'
    # When it is parsed
    rows = parse(data)
    # Then the quotes are single in the text
    assert rows[0].text == 'He said "hi"'


def test_parse_accepts_crlf_line_endings() -> None:
    # Given a file written on Windows
    data = b"A,one\r\nB,two\r\n"
    # When it is parsed
    rows = parse(data)
    # Then the CR is not part of the text
    assert [(r.labels, r.text, r.line) for r in rows] == [(("A",), "one", 1), (("B",), "two", 2)]


def test_parse_accepts_last_record_without_newline() -> None:
    # Given a file whose last line has no terminator
    data = b"A,one\nB,two"
    # When it is parsed
    rows = parse(data)
    # Then the last record is read
    assert rows[-1] == Row(("B",), "two", 2)


def test_parse_skips_blank_lines_and_keeps_line_numbers() -> None:
    # Given blank and whitespace-only lines between records
    data = b"\nA,one\n\n   \nB,two\n\n"
    # When it is parsed
    rows = parse(data)
    # Then blank lines are not records, and lines are still physical lines
    assert [r.line for r in rows] == [2, 5]


def test_parse_strips_utf8_bom() -> None:
    # Given a UTF-8 file with a byte-order mark
    data = "\ufeffA,été\n".encode()
    # When it is parsed
    rows = parse(data)
    # Then the BOM is not part of the first label
    assert rows == [Row(("A",), "été", 1)]


def test_parse_keeps_text_exactly_including_surrounding_spaces() -> None:
    # Given a text with leading and trailing spaces
    data = b"A,  padded text  \n"
    # When it is parsed
    rows = parse(data)
    # Then the text is not modified
    assert rows[0].text == "  padded text  "


def test_parse_splits_multi_label_field_on_delimiter() -> None:
    # Given a multi-label record
    data = b"COMEDY|ACTION,A funny action film\n"
    # When it is parsed in multi-label mode
    rows = parse(data, multi_label=True)
    # Then both labels are read in order
    assert rows[0].labels == ("COMEDY", "ACTION")


def test_parse_uses_custom_delimiter() -> None:
    # Given labels joined by ':'
    data = b"COMEDY:ACTION,A funny action film\n"
    # When it is parsed with that delimiter
    rows = parse(data, multi_label=True, delimiter=":")
    # Then the labels are split on it
    assert rows[0].labels == ("COMEDY", "ACTION")


def test_parse_keeps_exact_duplicates_for_merge_to_drop() -> None:
    # Given the same text twice with the same label
    data = b"A,same text\nA,same  text\n"
    # When it is parsed
    rows = parse(data)
    # Then it is not a problem: both rows are returned
    assert len(rows) == 2


def test_parse_accepts_labels_with_letters_digits_and_inner_punctuation() -> None:
    # Given labels using every allowed character class
    data = "Billing_v2.1 - Refund,text one\nÉtat 3,text two\n".encode()
    # When it is parsed
    rows = parse(data)
    # Then they are accepted as written
    assert [r.labels[0] for r in rows] == ["Billing_v2.1 - Refund", "État 3"]


# --- parse_upload: problems -------------------------------------------------------------------------
def test_invalid_utf8_reports_line_of_first_bad_byte() -> None:
    # Given a bad byte on line 3
    data = b"A,one\nB,two\nC,thr\xffee\n"
    # When it is parsed
    problems = problems_of(data)
    # Then the encoding problem names line 3
    assert lines_and_fields(problems) == [(3, "encoding")]


def test_invalid_utf8_does_not_hide_other_problems() -> None:
    # Given a bad byte on line 1 and an empty text on line 2
    data = b"A,\xc3(\nB,\n"
    # When it is parsed
    problems = problems_of(data)
    # Then both problems are reported
    assert lines_and_fields(problems) == [(1, "encoding"), (2, "text")]


def test_utf16_file_is_rejected_as_not_utf8() -> None:
    # Given a UTF-16 file
    data = "A,one\n".encode("utf-16")
    # When it is parsed
    problems = problems_of(data)
    # Then one encoding problem is reported for the whole file
    assert lines_and_fields(problems) == [(0, "encoding")]


def test_unterminated_quote_is_reported_on_line_where_record_starts() -> None:
    # Given a quote opened on line 2 and never closed
    data = b'A,fine\nB,"never closed\nC,swallowed\n'
    # When it is parsed
    problems = problems_of(data)
    # Then the problem is on line 2
    assert lines_and_fields(problems) == [(2, "record")]
    assert "unterminated" in problems[0].reason


def test_stray_quote_in_unquoted_field_is_a_problem() -> None:
    # Given a quote inside an unquoted text
    data = b'A,He said "hi"\n'
    # When it is parsed
    problems = problems_of(data)
    # Then it is reported as a stray quote
    assert lines_and_fields(problems) == [(1, "record")]
    assert "stray quote" in problems[0].reason


def test_text_after_closing_quote_is_a_problem() -> None:
    # Given an undoubled quote inside a quoted field
    data = b'A,"He said "hi" loudly"\nB,ok\n'
    # When it is parsed
    problems = problems_of(data)
    # Then line 1 is reported and parsing resumes on line 2
    assert lines_and_fields(problems) == [(1, "record")]


def test_record_with_three_fields_is_a_problem() -> None:
    # Given an unquoted text with a comma
    data = b"A,hello, world\n"
    # When it is parsed
    problems = problems_of(data)
    # Then the field count is reported
    assert "found 3" in problems[0].reason


def test_record_with_one_field_is_a_problem() -> None:
    # Given a record without a text
    data = b"A\n"
    # When it is parsed
    problems = problems_of(data)
    # Then the field count is reported
    assert "found 1" in problems[0].reason


def test_empty_label_is_a_problem() -> None:
    # Given a record with an empty label
    data = b",some text\n"
    # When it is parsed
    problems = problems_of(data)
    # Then the label is reported
    assert lines_and_fields(problems) == [(1, "label")]


@pytest.mark.parametrize("label", [" SPORTS", "SPORTS ", "\tSPORTS"])
def test_label_with_surrounding_whitespace_is_a_problem(label: str) -> None:
    # Given a label with surrounding whitespace
    data = f"{label},text\n".encode()
    # When it is parsed
    problems = problems_of(data)
    # Then the whitespace is reported
    assert "whitespace" in problems[0].reason


@pytest.mark.parametrize("label", ["A/B", "SPORTS!", "a\x00b", "x;y"])
def test_label_with_disallowed_character_is_a_problem(label: str) -> None:
    # Given a label with a character outside the allowed set
    data = f'"{label}",text\n'.encode()
    # When it is parsed
    problems = problems_of(data)
    # Then the label is reported
    assert lines_and_fields(problems) == [(1, "label")]


def test_delimiter_in_multi_class_label_suggests_multi_label_data() -> None:
    # Given multi-label data sent to a multi-class classifier
    data = b"COMEDY|ACTION,text\n"
    # When it is parsed in multi-class mode
    problems = problems_of(data)
    # Then the reason names the delimiter
    assert "multi-label" in problems[0].reason


def test_label_longer_than_limit_is_a_problem() -> None:
    # Given a label longer than the configured limit
    data = b"ABCDEF,text\n"
    # When it is parsed with a 5-character limit
    problems = problems_of(data, limits=Limits(max_label_chars=5))
    # Then the length is reported
    assert "limit is 5" in problems[0].reason


def test_multi_label_empty_segment_is_a_problem() -> None:
    # Given two delimiters in a row
    data = b"A||B,text\n"
    # When it is parsed in multi-label mode
    problems = problems_of(data, multi_label=True)
    # Then the empty segment is reported
    assert lines_and_fields(problems) == [(1, "label")]
    assert "empty label" in problems[0].reason


def test_multi_label_repeated_label_is_a_problem() -> None:
    # Given a label repeated in one record
    data = b"A|B|A,text\n"
    # When it is parsed in multi-label mode
    problems = problems_of(data, multi_label=True)
    # Then the repetition is reported
    assert "repeated" in problems[0].reason


def test_whitespace_only_text_is_a_problem() -> None:
    # Given a text of spaces
    data = b'A,"   "\n'
    # When it is parsed
    problems = problems_of(data)
    # Then the text is reported as empty
    assert lines_and_fields(problems) == [(1, "text")]


def test_text_over_byte_limit_is_measured_in_utf8_bytes() -> None:
    # Given 6 characters that take 12 bytes in UTF-8
    data = ("A," + "é" * 6 + "\n").encode()
    # When it is parsed with a 10-byte document limit
    problems = problems_of(data, limits=Limits(max_document_bytes=10))
    # Then the text is too long even though it has fewer than 10 characters
    assert "12 bytes" in problems[0].reason


def test_text_at_byte_limit_is_accepted() -> None:
    # Given a text of exactly the limit in bytes
    data = ("A," + "é" * 5 + "\n").encode()
    # When it is parsed with a 10-byte document limit
    rows = parse(data, limits=Limits(max_document_bytes=10))
    # Then it is accepted
    assert len(rows) == 1


def test_file_over_size_limit_is_rejected_without_parsing() -> None:
    # Given a file bigger than the limit
    data = b"A,text\n" * 10
    # When it is parsed with a 20-byte file limit
    problems = problems_of(data, limits=Limits(max_file_bytes=20))
    # Then only the size is reported
    assert lines_and_fields(problems) == [(0, "file")]


def test_too_many_distinct_labels_is_a_problem() -> None:
    # Given three labels
    data = b"A,one\nB,two\nC,three\n"
    # When the limit is two classes
    problems = problems_of(data, limits=Limits(max_labels_multi_class=2))
    # Then the label count is reported for the whole file
    assert lines_and_fields(problems) == [(0, "label")]


def test_same_text_with_different_labels_in_one_upload_is_a_problem() -> None:
    # Given the same text (up to whitespace) labelled A then B
    data = b"A,the same text\nC,other\nB,the  same text \n"
    # When it is parsed
    problems = problems_of(data)
    # Then the later line is reported, naming the first
    assert lines_and_fields(problems) == [(3, "text")]
    assert "line 1" in problems[0].reason


def test_empty_upload_is_a_problem() -> None:
    # Given an upload with only blank lines
    data = b"\n\n"
    # When it is parsed
    problems = problems_of(data)
    # Then the empty file is reported
    assert lines_and_fields(problems) == [(0, "file")]


def test_every_problem_is_reported_with_its_line() -> None:
    # Given problems on lines 1, 3 and 4 (line 2 is fine)
    data = b",no label\nA,fine\nB,\nC,a,b\n"
    # When it is parsed
    problems = problems_of(data)
    # Then all three are reported in file order
    assert lines_and_fields(problems) == [(1, "label"), (3, "text"), (4, "record")]


def test_problems_are_capped_with_a_closing_note() -> None:
    # Given 10 bad records
    data = b",x\n" * 10
    # When at most 3 problems are collected
    problems = problems_of(data, limits=Limits(max_problems=3))
    # Then 3 problems and a note that collection stopped are reported
    assert len(problems) == 4
    assert "stopped after 3" in problems[-1].reason


@pytest.mark.parametrize("delimiter", [",", "ab", "", "&"])
def test_delimiter_comprehend_does_not_accept_is_rejected(delimiter: str) -> None:
    # Given a delimiter outside Comprehend's allowed set
    # When a file is parsed with it
    # Then the request is rejected
    with pytest.raises(InvalidRequest):
        parse(b"A,text\n", multi_label=True, delimiter=delimiter)


# --- merge ------------------------------------------------------------------------------------------
def test_merge_appends_new_rows_after_existing_ones() -> None:
    # Given an existing dataset and a new upload
    current = [Row(("A",), "one", 1), Row(("B",), "two", 2)]
    new = [Row(("C",), "three", 1)]
    # When they are merged
    result = merge(current, new)
    # Then the order is existing rows first, then new
    assert [r.text for r in result.rows] == ["one", "two", "three"]
    assert result.added == 1


def test_merge_drops_exact_duplicates_up_to_whitespace() -> None:
    # Given a new row equal to an existing one up to whitespace
    current = [Row(("A",), "hello world", 1)]
    new = [Row(("A",), "  hello \n world ", 5)]
    # When they are merged
    result = merge(current, new)
    # Then it is dropped and the existing row is kept
    assert result.rows == (Row(("A",), "hello world", 1),)
    assert result.duplicates_dropped == 1


def test_merge_treats_case_as_significant() -> None:
    # Given texts that differ only in case
    current = [Row(("A",), "Hello", 1)]
    new = [Row(("A",), "hello", 1)]
    # When they are merged
    result = merge(current, new)
    # Then both are kept
    assert len(result.rows) == 2


def test_merge_compares_multi_label_sets_regardless_of_order() -> None:
    # Given the same labels in another order
    current = [Row(("A", "B"), "text", 1)]
    new = [Row(("B", "A"), "text", 1)]
    # When they are merged
    result = merge(current, new)
    # Then it is a duplicate, not a conflict
    assert (result.duplicates_dropped, result.conflicts) == (1, ())


def test_merge_conflict_newer_row_wins_in_place() -> None:
    # Given an existing row relabelled by a review
    current = [Row(("A",), "one", 1), Row(("SPAM",), "win money", 2), Row(("B",), "three", 3)]
    new = [Row(("HAM",), "win money", 7)]
    # When they are merged
    result = merge(current, new)
    # Then the new labels replace the old ones at the same position
    assert result.rows[1] == Row(("HAM",), "win money", 7)
    assert len(result.rows) == 3


def test_merge_reports_each_conflict_with_hash_labels_and_line() -> None:
    # Given an existing row relabelled by a review
    current = [Row(("SPAM",), "win money", 2)]
    new = [Row(("HAM",), "win  money", 7)]
    # When they are merged
    result = merge(current, new)
    # Then the conflict names the normalised text's hash, both label sets and the upload line
    (conflict,) = result.conflicts
    assert conflict.text_hash == hashlib.sha256(b"win money").hexdigest()
    assert (conflict.old_labels, conflict.new_labels, conflict.line) == (("SPAM",), ("HAM",), 7)


def test_merge_counts_labels_of_the_result() -> None:
    # Given a merge with a conflict and a duplicate
    current = [Row(("A",), "one"), Row(("A",), "two")]
    new = [Row(("B",), "two"), Row(("A",), "one"), Row(("B", "C"), "three")]
    # When they are merged
    result = merge(current, new)
    # Then label counts describe the merged rows
    assert result.label_counts == {"A": 1, "B": 2, "C": 1}


def test_merge_does_not_modify_its_inputs() -> None:
    # Given input lists
    current = [Row(("A",), "one")]
    new = [Row(("B",), "one")]
    # When they are merged
    merge(current, new)
    # Then the inputs are unchanged
    assert current == [Row(("A",), "one")] and new == [Row(("B",), "one")]


def test_label_report_counts_each_label_once_per_row() -> None:
    # Given multi-label rows
    rows = [Row(("A", "B"), "x"), Row(("B",), "y")]
    # When labels are counted
    counts = label_report(rows)
    # Then each label counts the rows that carry it
    assert counts == {"A": 1, "B": 2}


# --- to_csv -----------------------------------------------------------------------------------------
def test_to_csv_writes_one_line_per_record_with_rfc4180_quoting() -> None:
    # Given rows with a comma, a quote and a newline
    rows = [Row(("A",), "plain"), Row(("B",), 'say "hi", then\nleave'), Row(("C", "D"), "x")]
    # When they are written
    data = to_csv(rows)
    # Then only fields that need it are quoted, quotes are doubled, records end with \n
    assert data == b'A,plain\nB,"say ""hi"", then\nleave"\nC|D,x\n'


def test_to_csv_has_no_header_and_is_utf8() -> None:
    # Given a unicode text
    rows = [Row(("A",), "naïve ✓")]
    # When it is written
    data = to_csv(rows)
    # Then the first line is the record, in UTF-8
    assert data == "A,naïve ✓\n".encode()


_NASTY = [",", '"', '""', "\n", "\r\n", "\r", " ", "\t", "=", "=SUM(A1)", "+", "-", "@", "é", "中文",
          "🙂", "\u2028", "\u00a0", "'", "\\", "|", ";", "x", "word", "0", "\ufeff"]  # fmt: skip


def _random_text(rng: random.Random) -> str:
    while True:
        text = "".join(rng.choice(_NASTY) for _ in range(rng.randint(1, 12)))
        if text.strip():
            return text


def test_to_csv_round_trips_through_parse_upload() -> None:
    # Given 300 random datasets of nasty texts (commas, quotes, newlines, CRs, unicode, leading '=')
    rng = random.Random(4180)
    for _ in range(300):
        texts = {_random_text(rng) for _ in range(rng.randint(1, 8))}
        unique = list({" ".join(t.split()): t for t in texts}.values())  # one label set per text
        rows = [
            Row(tuple(rng.sample(["A", "B_2", "c.d", "E F"], rng.randint(1, 3))), text) for text in unique
        ]
        # When they are written and read back
        parsed = parse_upload(to_csv(rows), file="round.csv", multi_label=True)
        # Then labels and texts are exactly the same
        assert [(r.labels, r.text) for r in parsed] == [(r.labels, r.text) for r in rows]


def test_a_stored_file_reads_back_as_parse_upload_reads_it() -> None:
    # Given 300 random datasets of nasty texts, written as the workflow stores batches and dataset parts
    rng = random.Random(4181)
    for _ in range(300):
        texts = {_random_text(rng) for _ in range(rng.randint(1, 8))}
        unique = list({" ".join(t.split()): t for t in texts}.values())
        rows = [
            Row(tuple(rng.sample(["A", "B_2", "c.d", "E F"], rng.randint(1, 3))), text) for text in unique
        ]
        data = to_csv(rows)
        # When the fast reader of stored files reads them back
        stored = read_stored(data, multi_label=True)
        # Then it finds what the validating parser finds: labels, texts and physical lines
        parsed = parse_upload(data, file="round.csv", multi_label=True)
        assert [(r.labels, r.text, r.line) for r in stored] == [(r.labels, r.text, r.line) for r in parsed]


def test_a_stored_file_splits_into_the_records_to_csv_wrote() -> None:
    # Given 300 random datasets of nasty texts (quotes, commas, line breaks inside fields)
    rng = random.Random(4182)
    for _ in range(300):
        texts = {_random_text(rng) for _ in range(rng.randint(1, 8))}
        rows = [Row(("A",), text) for text in texts]
        # When the stored file is split into records without parsing
        records = stored_records(to_csv(rows))
        # Then each record is exactly what to_csv writes for its row
        assert records == [to_csv([row]) for row in rows]


def test_to_csv_line_numbers_of_read_back_rows_are_physical_lines() -> None:
    # Given a row with two embedded newlines followed by another row
    rows = [Row(("A",), "a\nb\nc"), Row(("B",), "d")]
    # When written and read back
    parsed = parse(to_csv(rows))
    # Then the second record starts on line 4
    assert [r.line for r in parsed] == [1, 4]


# --- check_trainable --------------------------------------------------------------------------------
def test_check_trainable_accepts_enough_data() -> None:
    # Given two classes of 50 documents
    counts = {"A": 50, "B": 50}
    # When trainability is checked with Comprehend's multi-class minimums
    reasons = check_trainable(counts, multi_label=False, min_per_label=50, min_total=100)
    # Then there is nothing to report
    assert reasons == []


def test_check_trainable_names_each_class_below_minimum() -> None:
    # Given one class with too few documents
    counts = {"A": 50, "B": 9}
    # When trainability is checked
    reasons = check_trainable(counts, multi_label=False, min_per_label=10, min_total=0)
    # Then that class is named with its count
    assert reasons == ["class 'B' has 9 document(s); at least 10 are needed"]


def test_check_trainable_reports_total_below_minimum() -> None:
    # Given 20 documents in all
    counts = {"A": 10, "B": 10}
    # When 50 are required
    reasons = check_trainable(counts, multi_label=True, min_per_label=10, min_total=50)
    # Then the total is reported
    assert reasons == ["20 document(s) in all; at least 50 are needed"]


def test_check_trainable_uses_document_count_for_multi_label_total() -> None:
    # Given label counts summing to 60 from 30 two-label documents
    counts = {"A": 30, "B": 30}
    # When trainability is checked with the document count
    reasons = check_trainable(counts, multi_label=True, min_per_label=10, min_total=50, documents=30)
    # Then the total counts documents, not labels
    assert reasons == ["30 document(s) in all; at least 50 are needed"]


def test_check_trainable_needs_two_classes() -> None:
    # Given a single class
    counts = {"A": 100}
    # When trainability is checked
    reasons = check_trainable(counts, multi_label=False, min_per_label=1, min_total=1)
    # Then the single class is reported
    assert reasons == ["only one class (A); at least 2 are needed"]


def test_check_trainable_reports_empty_dataset() -> None:
    # Given no labels
    # When trainability is checked
    reasons = check_trainable({}, multi_label=False, min_per_label=1, min_total=1)
    # Then the dataset is reported empty
    assert reasons == ["the dataset is empty"]


def test_check_trainable_reports_more_labels_than_multi_label_allows() -> None:
    # Given 101 labels of 10 documents
    counts = {f"L{i}": 10 for i in range(101)}
    # When checked in multi-label mode (Comprehend: at most 100 labels)
    reasons = check_trainable(counts, multi_label=True, min_per_label=10, min_total=50)
    # Then the label count is reported
    assert reasons == ["101 labels; Comprehend allows at most 100"]


# --- check_test_set ---------------------------------------------------------------------------------
def test_check_test_set_accepts_same_labels() -> None:
    # Given the same labels in training and test
    # When the test set is checked
    problems = check_test_set({"A": 50, "B": 50}, {"A": 5, "B": 5})
    # Then there is nothing to report
    assert problems == []


def test_check_test_set_reports_training_label_missing_from_test() -> None:
    # Given a training label absent from the test set
    # When the test set is checked
    problems = check_test_set(["A", "B"], ["A"])
    # Then it is reported
    assert [p.reason for p in problems] == ["label 'B' is in the training data but not in the test set"]


def test_check_test_set_reports_test_label_absent_from_training() -> None:
    # Given a test label never seen in training
    # When the test set is checked
    problems = check_test_set(["A"], ["A", "Z"])
    # Then it is reported
    assert [p.reason for p in problems] == ["label 'Z' is in the test set but not in the training data"]
