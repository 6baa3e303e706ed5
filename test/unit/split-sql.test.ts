// The statement splitter that sends a migration file one statement at a time.
import { describe, expect, it } from 'vitest'
import { splitSql } from '@lazydb/core/migrate'

describe('splitSql', () => {
  it('splits at semicolons and drops empty and comment-only statements', () => {
    // A comment before a statement stays with it (servers skip it); one alone is no statement.
    expect(splitSql('create table a (x int);\n\n;  -- only a comment\ninsert into a values (1)')).toEqual([
      'create table a (x int)',
      '-- only a comment\ninsert into a values (1)',
    ])
    expect(splitSql('-- nothing here;\n/* nor; here */\n')).toEqual([])
  })

  it('keeps semicolons inside strings, quoted names, comments and dollar quotes', () => {
    const sql = [
      "insert into t values ('a;b', 'it''s;', E'x\\';y');",
      'select "we;ird" from `na;me`; -- trailing; comment',
      'select 1 /* a; block */ + 1;',
      'create function f() returns int as $body$ begin; return 1; end; $body$ language plpgsql;',
      'select $$;$$;',
    ].join('\n')
    expect(splitSql(sql)).toEqual([
      "insert into t values ('a;b', 'it''s;', E'x\\';y')",
      'select "we;ird" from `na;me`',
      '-- trailing; comment\nselect 1 /* a; block */ + 1',
      'create function f() returns int as $body$ begin; return 1; end; $body$ language plpgsql',
      'select $$;$$',
    ])
  })

  it('keeps a trigger or procedure body (BEGIN … END, CASE … END, END IF) in one statement', () => {
    const sqlite = `create trigger t_au after update on t begin
  update t set n = case when new.n > 0 then 1 else 0 end where id = new.id;
  insert into log values (new.id);
end;
create index i on t (n);`
    expect(splitSql(sqlite)).toEqual([sqlite.slice(0, sqlite.indexOf('end;') + 3), 'create index i on t (n)'])
    const mysql = `CREATE PROCEDURE p() BEGIN
  IF 1 = 1 THEN SELECT 1; END IF;
  SELECT 2;
END;
SELECT 3;`
    expect(splitSql(mysql)).toEqual([mysql.slice(0, mysql.lastIndexOf('END;') + 3), 'SELECT 3'])
  })

  it('treats BEGIN outside a CREATE TRIGGER/FUNCTION/PROCEDURE as its own statement', () => {
    expect(splitSql('begin; select 1; commit;')).toEqual(['begin', 'select 1', 'commit'])
  })

  it('ends an unterminated quote or dollar quote at the end of the file instead of looping', () => {
    expect(splitSql("select 'open")).toEqual(["select 'open"])
    expect(splitSql('select $x$ open')).toEqual(['select $x$ open'])
    expect(splitSql('select 1 /* open')).toEqual(['select 1 /* open'])
  })
})
