-- Every (ancestor, descendant) pair of the unit tree, a unit being its own ancestor at
-- depth 0. Figures "including sub-units" (rule 10) join through it:
--   SELECT c.ancestor_id, count(*) FROM accounts a JOIN unit_closure c ON c.descendant_id = a.unit_id
--   GROUP BY c.ancestor_id
-- The cycle trigger on units keeps the recursion finite.
CREATE VIEW unit_closure (ancestor_id, descendant_id, depth) AS
WITH RECURSIVE closure (ancestor_id, descendant_id, depth) AS (
    SELECT id, id, 0 FROM units
    UNION ALL
    SELECT c.ancestor_id, u.id, c.depth + 1
    FROM closure c JOIN units u ON u.parent_id = c.descendant_id
)
SELECT ancestor_id, descendant_id, depth FROM closure;
