//! Statement-level comparison of `mariadb-test` result files.
//!
//! A `.result` file is the echo of each statement followed by what it printed. A whole-file
//! comparison says only "differs somewhere"; to measure how much of a suite a server gets
//! right, the file is cut into one block per statement (an echoed statement ends with `;`,
//! result rows do not) and the blocks of a run are matched to the expected ones in order
//! (longest common subsequence of the statements, so a statement that printed extra lines or
//! an unexpected error does not shift every later one).

/// One statement's echo and what followed it.
#[derive(Debug, PartialEq, Eq)]
struct Block<'a> {
    statement: &'a str,
    output: Vec<&'a str>,
}

fn blocks(text: &str) -> Vec<Block<'_>> {
    let mut out: Vec<Block<'_>> = Vec::new();
    for line in text.lines() {
        match out.last_mut() {
            _ if line.trim_end().ends_with(';') => out.push(Block { statement: line, output: Vec::new() }),
            Some(b) => b.output.push(line),
            None => {}
        }
    }
    out
}

/// How many of the statements of `expected` appear in `actual` with identical output, and
/// how many statements `expected` has.
pub fn matching_statements(expected: &str, actual: &str) -> (usize, usize) {
    let want = blocks(expected);
    let got = blocks(actual);
    // lcs[i][j]: the matching blocks of want[i..] and got[j..].
    let (n, m) = (want.len(), got.len());
    let mut lcs = vec![0u32; (n + 1) * (m + 1)];
    let at = |i: usize, j: usize| i * (m + 1) + j;
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            let skip = lcs[at(i + 1, j)].max(lcs[at(i, j + 1)]);
            lcs[at(i, j)] = if want[i] == got[j] { skip.max(lcs[at(i + 1, j + 1)] + 1) } else { skip };
        }
    }
    (lcs[at(0, 0)] as usize, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_statement_counts_only_when_its_output_is_identical() {
        let want = "select 1;\n1\n1\nselect 2;\n2\n2\nselect 3;\n3\n3\n";
        assert_eq!(matching_statements(want, want), (3, 3));
        let wrong_middle = "select 1;\n1\n1\nselect 2;\n2\n2.0\nselect 3;\n3\n3\n";
        assert_eq!(matching_statements(want, wrong_middle), (2, 3));
    }

    #[test]
    fn an_error_or_a_missing_statement_does_not_shift_the_rest() {
        let want = "select 1;\n1\n1\nselect 2;\n2\n2\nselect 3;\n3\n3\n";
        let got = "select 1;\n1\n1\nselect 2;\nmysqltest: At line 2: query 'select 2' failed\nselect 3;\n3\n3\n";
        assert_eq!(matching_statements(want, got), (2, 3));
        let extra = "select 0;\n0\nselect 1;\n1\n1\nselect 2;\n2\n2\nselect 3;\n3\n3\n";
        assert_eq!(matching_statements(want, extra), (3, 3));
    }
}
