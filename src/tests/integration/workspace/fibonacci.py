"""Sample Python source for Alloy's integration tests."""


def fibonacci(n: int) -> list[int]:
    """Returns the first n Fibonacci numbers."""
    numbers: list[int] = []
    a, b = 0, 1
    for _ in range(n):
        numbers.append(a)
        a, b = b, a + b
    return numbers


if __name__ == "__main__":
    print(fibonacci(10))
