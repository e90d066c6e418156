// Browses a database the way DBeaver and MySQL Workbench do, through JDBC's
// DatabaseMetaData (Debian's libmariadb-java), and prints what it sees, one sorted line
// per fact: catalogs, tables, columns with their types, indexes, primary keys.
//
// usage: java -cp /usr/share/java/mariadb-java-client.jar Metadata.java PORT DATABASE
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

public class Metadata {
    public static void main(String[] args) throws Exception {
        String url = "jdbc:mariadb://127.0.0.1:" + args[0] + "/" + args[1] + "?user=root";
        List<String> out = new ArrayList<>();
        try (Connection c = DriverManager.getConnection(url)) {
            DatabaseMetaData md = c.getMetaData();
            try (ResultSet r = md.getCatalogs()) {
                while (r.next()) {
                    if (r.getString("TABLE_CAT").equals(args[1])) out.add("catalog " + r.getString("TABLE_CAT"));
                }
            }
            List<String> tables = new ArrayList<>();
            try (ResultSet r = md.getTables(args[1], null, "%", new String[] {"TABLE"})) {
                while (r.next()) {
                    tables.add(r.getString("TABLE_NAME"));
                    out.add("table " + r.getString("TABLE_NAME") + " " + r.getString("TABLE_TYPE"));
                }
            }
            for (String t : tables) {
                try (ResultSet r = md.getColumns(args[1], null, t, "%")) {
                    while (r.next()) {
                        out.add("column " + t + "." + r.getString("COLUMN_NAME") + " " + r.getString("TYPE_NAME")
                            + " nullable=" + r.getString("IS_NULLABLE") + " position=" + r.getInt("ORDINAL_POSITION"));
                    }
                }
                try (ResultSet r = md.getIndexInfo(args[1], null, t, false, false)) {
                    while (r.next()) {
                        out.add("index " + t + "." + r.getString("INDEX_NAME") + " " + r.getInt("ORDINAL_POSITION")
                            + " " + r.getString("COLUMN_NAME") + " non_unique=" + r.getBoolean("NON_UNIQUE"));
                    }
                }
                try (ResultSet r = md.getPrimaryKeys(args[1], null, t)) {
                    while (r.next()) {
                        out.add("primary " + t + " " + r.getInt("KEY_SEQ") + " " + r.getString("COLUMN_NAME"));
                    }
                }
            }
        }
        Collections.sort(out);
        for (String line : out) System.out.println(line);
    }
}
