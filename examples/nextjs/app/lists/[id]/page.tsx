import { ListView } from "@/components/ListView";

/** A list's tasks; `inbox` is the tasks in no list. */
export default async function ListPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return <ListView listId={id === "inbox" ? null : id} />;
}
