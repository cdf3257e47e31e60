-- `words`: the significant words of a ticket's title and description, distinct and
-- space-separated (`triage::similar::stored`), written when it is filed. The duplicate check
-- compares them (`tickets::recent`), so that it neither reads nor splits a candidate's text,
-- and the ticket writer recalls them when it starts.
--
-- Null for tickets filed before this migration and after an edit of the text (the trigger
-- below): the check then reads the text itself.
alter table tickets add column words text;

-- A ticket's words follow its text, whichever code changes it (an edited source message
-- changes the description).
create trigger tickets_words_follow_the_text after update of title, description on tickets
    when old.title is not new.title or old.description is not new.description
begin
    update tickets set words = null where id = new.id;
end;
