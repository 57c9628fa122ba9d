// Quality rules that shape a suggestion's lines: one line inside a line, end of block by
// indentation, line limit, trailing whitespace. Real code in several languages; █ is the cursor.
import { describe, expect, it } from 'vitest';

import { limitLines, singleLineInsideLine, stopAtBlockEnd, trimTrailingWhitespace } from '../../../extension/completion/quality-rules';
import { contextAt } from './cursor-snippet';

describe('singleLineInsideLine', () => {
  it('keeps only the first line when code follows the cursor (TypeScript)', () => {
    const ctx = contextAt('const total = items.reduce(█, 0);\n', 'typescript');
    expect(singleLineInsideLine('(sum, item) => sum + item.price\nconsole.log(total);', ctx)).toBe('(sum, item) => sum + item.price');
  });

  it('keeps only the first line inside a Python f-string', () => {
    const ctx = contextAt('print(f"Hello, {█}")\n', 'python');
    expect(singleLineInsideLine('name}!")\nprint("bye")', ctx)).toBe('name}!")');
  });

  it('gives an empty text when the suggestion starts with a line break inside a line (C)', () => {
    const ctx = contextAt('int main(void) { return █; }\n', 'c');
    expect(singleLineInsideLine('\n  0', ctx)).toBe('');
  });

  it('leaves a multi-line suggestion alone at the end of a line, trailing spaces included (Go)', () => {
    const ctx = contextAt('func main() {█   \n}\n', 'go');
    expect(singleLineInsideLine('\n\tfmt.Println("hi")\n', ctx)).toBe('\n\tfmt.Println("hi")\n');
  });
});

describe('stopAtBlockEnd', () => {
  it('keeps the closing brace of a block opened on the cursor line and stops there (TypeScript)', () => {
    const ctx = contextAt('function add(a: number, b: number): number {█', 'typescript');
    const raw = '\n  return a + b;\n}\n\nfunction sub(a: number, b: number): number {\n  return a - b;\n}';
    expect(stopAtBlockEnd(raw, ctx)).toBe('\n  return a + b;\n}');
  });

  it('ends a Python function body at the next dedented statement', () => {
    const ctx = contextAt('import math\n\ndef area(r):█', 'python');
    const raw = '\n    return math.pi * r * r\n\ndef perimeter(r):\n    return 2 * math.pi * r';
    expect(stopAtBlockEnd(raw, ctx)).toBe('\n    return math.pi * r * r');
  });

  it('goes on with sibling statements and ends where the enclosing block does (Python)', () => {
    const ctx = contextAt('def total(xs):\n    result = 0█\n', 'python');
    const raw = '\n    for x in xs:\n        result += x\n    return result\n\nclass Stats:\n    pass';
    expect(stopAtBlockEnd(raw, ctx)).toBe('\n    for x in xs:\n        result += x\n    return result');
  });

  it('follows `} else {` to the end of the if statement, with tab indentation (Go)', () => {
    const ctx = contextAt('func check(err error) error {\n\tif err != nil {█\n}\n', 'go');
    const raw = '\n\t\treturn err\n\t} else {\n\t\tlog.Println("ok")\n\t}\n\treturn nil\n}';
    expect(stopAtBlockEnd(raw, ctx)).toBe('\n\t\treturn err\n\t} else {\n\t\tlog.Println("ok")\n\t}');
  });

  it('follows except branches and stops before the next statement (Python)', () => {
    const ctx = contextAt('def parse(text):\n    try:█\n', 'python');
    const raw = '\n        value = int(text)\n    except ValueError:\n        value = 0\n    return value';
    expect(stopAtBlockEnd(raw, ctx)).toBe('\n        value = int(text)\n    except ValueError:\n        value = 0');
  });

  it('drops a dangling `} else {` that opens nothing (Java, generation cut short)', () => {
    const ctx = contextAt('class Abs {\n  int abs(int x) {\n    if (x > 0) {█\n', 'java');
    expect(stopAtBlockEnd('\n      return x;\n    } else {', ctx)).toBe('\n      return x;');
  });

  it('keeps a `});` that closes a callback opened on the cursor line (JavaScript)', () => {
    const ctx = contextAt('function log(items) {\n  items.forEach((item) => {█\n}\n', 'javascript');
    const raw = '\n    console.log(item);\n  });\n  return items.length;';
    expect(stopAtBlockEnd(raw, ctx)).toBe('\n    console.log(item);\n  });');
  });

  it('ends inside a body at the dedented closing brace of the enclosing function (Rust, blank cursor line)', () => {
    const ctx = contextAt('fn double_plus_one(x: i32) -> i32 {\n    █\n}\n', 'rust');
    expect(stopAtBlockEnd('let y = x * 2;\n    y + 1\n}\n\nfn other() {}', ctx)).toBe('let y = x * 2;\n    y + 1');
  });

  it('takes the indentation from the first written line when the cursor line is empty (C)', () => {
    const ctx = contextAt('int sum(int *v, int n) {\n█\n}\n', 'c');
    const raw = '  int s = 0;\n  for (int i = 0; i < n; i++) s += v[i];\n  return s;\n}\n';
    expect(stopAtBlockEnd(raw, ctx)).toBe('  int s = 0;\n  for (int i = 0; i < n; i++) s += v[i];\n  return s;');
  });

  it('keeps `end` closing a Ruby method and `fi` closing a shell if', () => {
    const ruby = contextAt('class Greeter\n  def greet(name)█\nend\n', 'ruby');
    expect(stopAtBlockEnd('\n    puts "Hello, #{name}"\n  end\n\n  def bye\n  end', ruby)).toBe('\n    puts "Hello, #{name}"\n  end');
    const shell = contextAt('if [ -f "$1" ]; then█\n', 'shellscript');
    expect(stopAtBlockEnd('\n  cat "$1"\nfi\necho done', shell)).toBe('\n  cat "$1"\nfi');
  });

  it('does not take a name like `end` or `done()` for a closing keyword (Python, JavaScript)', () => {
    const python = contextAt('def span(start):█', 'python');
    expect(stopAtBlockEnd('\n    return start + 1\nend = span(4)\nprint(end)', python)).toBe('\n    return start + 1');
    const js = contextAt("it('waits', (done) => {█", 'javascript');
    expect(stopAtBlockEnd('\n  setTimeout(() => {\n    done();\n  }, 10);\n});', js)).toBe('\n  setTimeout(() => {\n    done();\n  }, 10);\n});');
  });

  it('keeps everything at the top level of a Python module (nothing to dedent below)', () => {
    const ctx = contextAt('import os\n█', 'python');
    const raw = 'import sys\n\n\ndef main():\n    print(sys.argv)\n\n\nmain()';
    expect(stopAtBlockEnd(raw, ctx)).toBe(raw);
  });

  it('leaves one-line and blank suggestions alone', () => {
    const ctx = contextAt('    x = 1█', 'python');
    expect(stopAtBlockEnd(' + 2', ctx)).toBe(' + 2');
    expect(stopAtBlockEnd('\n\n', ctx)).toBe('\n\n');
  });

  it('stops at the first dedented line even when it is a closer (inconsistent indentation)', () => {
    const ctx = contextAt('    if (ready) {█', 'typescript');
    expect(stopAtBlockEnd('\n      start();\n  }\n', ctx)).toBe('\n      start();');
  });
});

describe('limitLines', () => {
  const goBody = '\tname := "x"\n\tage := 3\n\tfmt.Println(name, age)\n\treturn nil';

  it('keeps at most maxLines lines', () => {
    expect(limitLines(goBody, 2)).toBe('\tname := "x"\n\tage := 3');
    expect(limitLines(goBody, 4)).toBe(goBody);
    expect(limitLines(goBody, 10)).toBe(goBody);
  });

  it('does not count an empty first line (the suggestion starts on the next line)', () => {
    expect(limitLines('\n' + goBody, 2)).toBe('\n\tname := "x"\n\tage := 3');
  });

  it('keeps one line for a limit of zero, a negative one or NaN', () => {
    for (const limit of [0, -1, Number.NaN]) expect(limitLines(goBody, limit)).toBe('\tname := "x"');
  });
});

describe('trimTrailingWhitespace', () => {
  it('trims the end of every line and drops trailing blank lines (Java)', () => {
    const ctx = contextAt('class A {\n  void run() {█\n', 'java');
    expect(trimTrailingWhitespace('  \n    System.out.println("run");  \t\n  }\n\n  \n', ctx)).toBe('\n    System.out.println("run");\n  }');
  });

  it('keeps the spaces of a one-line suggestion that joins code right after the cursor (TypeScript)', () => {
    const ctx = contextAt('const point = makePoint(█y);', 'typescript');
    expect(trimTrailingWhitespace('x, ', ctx)).toBe('x, ');
  });

  it('trims them when what follows starts with whitespace or is whitespace only', () => {
    expect(trimTrailingWhitespace('x ', contextAt('let a = █ + 1;', 'rust'))).toBe('x');
    expect(trimTrailingWhitespace('x ', contextAt('let a = █  ', 'rust'))).toBe('x');
  });
});
