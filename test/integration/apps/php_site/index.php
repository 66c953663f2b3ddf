<?php
// A plain PHP site: native file sessions (PHPSESSID), nothing about sharing.
session_start();
$user = isset($_SESSION['user']) ? $_SESSION['user'] : 'anonymous';
$color = isset($_SESSION['color']) ? $_SESSION['color'] : '-';
?><!DOCTYPE html>
<html><head><title>PHP site</title></head>
<body>
<p id="user">user: <?= htmlspecialchars($user) ?></p>
<p id="color">color: <?= htmlspecialchars($color) ?></p>
<p><a href="/login.php">log in</a> <a href="/logout.php">log out</a></p>
</body></html>
