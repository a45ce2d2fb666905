-- half_even_div(n, d): n / d rounded half to even, for integers n >= 0 and d > 0 (HUGEINT
-- when the product behind n needs it). Every money amount is rounded with it, in integer
-- arithmetic, so an amount never passes through a float (docs/tariffs.md).
create macro half_even_div(n, d) as (
    n // d + case
        when 2 * (n % d) > d or (2 * (n % d) = d and (n // d) % 2 = 1) then 1
        else 0
    end
)
